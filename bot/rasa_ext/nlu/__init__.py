"""Our own Rasa NLU graph components (crisis detection)."""
