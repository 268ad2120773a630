"""The clinic's domain: what the product knows and keeps, independent of Rasa and channels.

- ``store/``: the records (models, migrations, database sessions, the service functions that
  change them); everything else reaches the database through ``store.services``.
- ``enrolment``, ``between_sessions`` (homework log and check-ins), ``reminders``, ``privacy``,
  ``retention``: the rules of each activity, on top of the store.
- ``safety``, ``crisis_categories``, ``edge_help``: the crisis categories (defined once), the
  safety flags, and the help given when the assistant itself is down.
- ``config``: the clinic's own file (numbers, hours, reminder policy); ``topics``: the IPT
  topics the assistant offers.

Imports go down only: base modules (``bot.settings``, ``bot.limits``...), then ``store``, then
the modules here; nothing in this room imports Rasa, a channel or a launcher
(tests/test_architecture.py).
"""
