"""Replacements of Rasa internals (graph runner, action-answer validation, NLU thread).

Each one copies or replaces code inside Rasa 3.6.21, so each refuses to load on any other
Rasa version: a newer Rasa may have changed what it replaces, and a silent mismatch would
change how every message is handled. Tests compare each with Rasa's own on the trained model.
"""

from __future__ import annotations

PINNED_RASA = "3.6.21"


class UnsupportedRasa(RuntimeError):
    """The installed Rasa is not the one these patches were written for."""


def require_pinned_rasa(version: str | None = None) -> None:
    """Raise :class:`UnsupportedRasa` unless Rasa is exactly the pinned release."""
    if version is None:
        import rasa

        version = rasa.__version__
    if version != PINNED_RASA:
        raise UnsupportedRasa(
            f"bot.rasa_ext.patches replace internals of Rasa {PINNED_RASA}, but Rasa {version} "
            f"is installed. Install the pinned release (make setup), or review each patch "
            f"against the new Rasa before changing PINNED_RASA."
        )


require_pinned_rasa()
