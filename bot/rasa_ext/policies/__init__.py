"""Our own Rasa dialogue policies (the crisis response)."""
