"""The reminder worker: sends due session reminders exactly once, and runs housekeeping jobs.

``python -m bot.services.worker`` (started by ``make run``). Pieces:

- :mod:`bot.services.worker.claims`: the database side (claim due reminders atomically, settle them);
- :mod:`bot.services.worker.delivery`: Rasa's ``trigger_intent``, then Telegram or the web outbox;
- :mod:`bot.services.worker.loop`: the loop that claims, delivers, and runs periodic jobs.

Design and failure cases: docs/reminders.md.
"""
