"""Check the action server's answers against Rasa's schema without rebuilding the checker.

Rasa checks every answer of the action server with ``jsonschema.validate``, which first
checks the schema itself and builds a new validator, on each call: in the scaled topology
under load that was about 40% of a Rasa server's busy time (py-spy, docs/benchmarks.md).
The schema never changes, so :func:`install` checks it once, keeps one validator, and
replaces ``RemoteAction._validate_action_result`` with a method that raises the same error
(jsonschema's ``best_match``, with Rasa's hint appended) for the same answers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_RASAS_OWN = RemoteAction._validate_action_result


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """Rasa's ``_validate_action_result`` with one validator built once."""
    error = best_match(_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, make sure your response "
        f"from the Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions")
    raise error


def install() -> None:
    """Make every RemoteAction use :func:`validate_action_result`."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


def uninstall() -> None:
    RemoteAction._validate_action_result = _RASAS_OWN  # type: ignore[method-assign]

