"""The processes around Rasa, one folder each.

- ``web/``: the web server facing the internet (the widget, its sessions, edge crisis help);
- ``telegram/``: the Telegram service (long polling or webhook) relaying to Rasa's REST channel;
- ``worker/``: the reminder worker and outbox pump;
- ``admin/``: ``ipt-admin``, the clinic's command line;
- ``console/``: the staff web console.

They use the clinic's domain (``bot.clinic``) and the base modules; none imports Rasa's
extensions (``bot.rasa_ext``) or a launcher.
"""
