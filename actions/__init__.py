"""Rasa custom actions. Thin: each reads the tracker, calls into `bot`, returns events.

rasa-sdk imports every module in this package and registers every Action it finds, so
modules here must do no work at import time.
"""
