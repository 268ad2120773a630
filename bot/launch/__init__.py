"""What starts processes and prepares the machine: ``run`` (make run: Rasa, the action server,
the web server, Telegram, the worker and the console, stopped together), ``scaled`` (several
Rasa servers behind nginx with PostgreSQL and Redis), ``rasa_server`` and ``action_server``
(one process each), ``localsvc`` (private PostgreSQL/Redis/nginx for the scaled run),
``setup_check``, ``spacy_model`` (the offline spaCy pipeline), ``eval`` (NLU cross-validation).

The top floor: it may import any room; no room imports it.
"""
