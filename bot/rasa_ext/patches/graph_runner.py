"""Run Rasa's prediction graph in a plain loop instead of through dask.

Rasa 3.6 runs the model's graph (the NLU pipeline, then the policies) through
``dask.get`` for every message, and again for each action it predicts: dask rebuilds its
task graph, orders it and schedules each node, which costs more per message than some of
the components (docs/benchmarks.md, "Where Rasa spends a message"). The prediction graph
is small and runs on one thread anyway, so ``SequentialGraphRunner`` calls the same
``GraphNode`` objects in a topological order computed once per set of targets. The
results are the same as dask's (tests/test_graph_runner.py compares both on the trained
model).

:func:`install` makes Rasa's message processor use it; ``bot.launch.rasa_server`` calls it before
handing over to ``rasa run``. Training keeps Rasa's dask runner.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner


class SequentialGraphRunner(DaskGraphRunner):
    """``DaskGraphRunner`` with ``run`` done as a loop over a cached topological order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._orders: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = {}

    def _order(self, targets: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
        """(node, names of what it needs) for every node the targets depend on, in order."""
        order = self._orders.get(targets)
        if order is None:
            schema = self._graph_schema.minimal_graph_schema(list(targets))
            order, done = [], set()

            def visit(name: str, path: tuple[str, ...] = ()) -> None:
                if name in done or name not in schema.nodes:
                    return
                if name in path:
                    raise GraphRunError(f"The graph has a cycle through '{name}'.")
                needs = tuple(schema.nodes[name].needs.values())
                for need in needs:
                    visit(need, (*path, name))
                done.add(name)
                order.append((name, needs))

            for name in schema.nodes:
                visit(name)
            self._orders[targets] = order
        return order

    def run(self, inputs: dict[str, Any] | None = None,
            targets: list[str] | None = None) -> dict[str, Any]:
        run_targets = tuple(targets if targets else self._graph_schema.target_names)
        order = self._order(run_targets)
        results: dict[str, Any] = {}
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and value in self._graph_schema.nodes:
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure that none "
                    f"of the input names passed to the `run` method are the same as node "
                    f"names in the graph schema.")
            results[name] = (name, value)
        for name, needs in order:
            # As dask does: a need nothing provides is passed as its bare name, and the
            # node reports it (GraphNode raises for a missing input).
            args = [results.get(need, need) for need in needs]
            results[name] = self._instantiated_nodes[name](*args)
        return dict(results[target] for target in run_targets)


def install() -> None:
    """Make Rasa's message processor load models with :class:`SequentialGraphRunner`."""
    import rasa.core.processor

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner  # type: ignore[misc]


@contextmanager
def sequential_runner() -> Iterator[None]:
    """Models loaded inside the block use :class:`SequentialGraphRunner` (for tests)."""
    import rasa.core.processor

    before = rasa.core.processor.DaskGraphRunner
    install()
    try:
        yield
    finally:
        rasa.core.processor.DaskGraphRunner = before  # type: ignore[misc]
