"""Run Rasa's NLU for each message in one worker thread, off the server's event loop.

Rasa runs the NLU pipeline inside its event loop, so while one message is being understood
no other conversation moves. Our sentence encoder (bot/rasa_ext/nlu/minilm.py) is most of the NLU of
a message worded anew (15-20 ms of matrix products, during which NumPy releases Python's
lock): run in a thread, the loop meanwhile reads and writes other conversations, runs
their policies and answers HTTP, on the other core. One thread, so the NLU components never
run two messages at once (their caches are not shared between threads). Measured in
docs/benchmarks.md. :func:`install` replaces ``MessageProcessor.parse_message`` with the same
steps, the graph call moved to the thread; ``bot.launch.rasa_server`` calls it.
"""

from __future__ import annotations

import asyncio
import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker

structlogger = structlog.get_logger()

_RASAS_OWN = MessageProcessor.parse_message
_NLU = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ipt-nlu")


async def parse_message(self: MessageProcessor, message: Any, tracker: Any = None,
                        only_output_properties: bool = True) -> dict[str, Any]:
    """Rasa 3.6's ``parse_message`` with the NLU graph run in the NLU thread."""
    if self.http_interpreter:
        return await _RASAS_OWN(self, message, tracker, only_output_properties)
    if tracker is None:
        tracker = DialogueStateTracker.from_events(message.sender_id, [])
    parse_data = await asyncio.get_running_loop().run_in_executor(
        _NLU, self._parse_message_with_graph, message, tracker, only_output_properties)
    self._update_full_retrieval_intent(parse_data)
    structlogger.debug(
        "processor.message.parse",
        parse_data_text=copy.deepcopy(parse_data["text"]),
        parse_data_intent=parse_data["intent"],
        parse_data_entities=copy.deepcopy(parse_data["entities"]),
    )
    self._check_for_unseen_features(parse_data)
    return parse_data


def install() -> None:
    MessageProcessor.parse_message = parse_message  # type: ignore[method-assign]


def uninstall() -> None:
    MessageProcessor.parse_message = _RASAS_OWN  # type: ignore[method-assign]
