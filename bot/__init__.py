"""IPT Companion's own package, in rooms (docs/architecture.md):

- base modules here: ``settings``, ``domain_files``, ``limits``, ``signing``, ``payloads``,
  ``commands`` (used by every room, importing none);
- ``clinic/``: the clinic's domain (store, enrolment, between sessions, reminders, safety,
  privacy, retention, clinic configuration);
- ``rasa_ext/``: what Rasa loads (NLU components, policies, tracker and lock stores, channels,
  patches of Rasa internals);
- ``services/``: the processes around Rasa (web server, Telegram, worker, ipt-admin, console);
- ``launch/``: what starts processes and prepares the machine.

Imports only go down: launch -> services | rasa_ext -> clinic -> base
(tests/test_architecture.py). Importing any module does no work: no database engine, no
network.
"""
