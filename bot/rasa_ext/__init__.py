"""Extensions of Rasa, loaded by Rasa itself from config.yml, endpoints.yml and credentials.yml.

- ``nlu/``: NLU components (sentence encoder, intent classifier, crisis, code and medicine
  detectors); ``policies/``: the crisis policy and the indexed rule policy.
- ``tracker_store``, ``lock_store``: where Rasa keeps conversations and its locks.
- ``rest_channel``, ``web_channel``: input channels (REST with a bearer token; the widget's
  signed socket.io); ``health``: the /health route.
- ``patches/``: replacements of Rasa internals, valid for the pinned Rasa only.

These may use the clinic's domain (``bot.clinic``) and the base modules, never a service or a
launcher.
"""
