"""Binding helper: one shared ``transitions`` machine per workflow, bound to a model per call.

A machine per database row would cost memory and start-up time for every trajectory loaded;
instead each workflow builds one model-less machine at import and binds a short-lived adapter
to it for the duration of one call. The lock keeps concurrent threads (web threads, Celery's
thread pool) from seeing each other's adapter in the machine's model list.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from transitions import Machine


class SharedMachine:
    """A model-less :class:`transitions.Machine` shared by every call of one workflow."""

    def __init__(self, states: list[str], transitions: list[dict[str, Any]], **options: Any):
        self.states = states
        self.transitions = transitions
        self.options = options
        self.machine = Machine(
            model=None,
            states=states,
            transitions=transitions,
            initial=None,
            auto_transitions=False,
            send_event=True,
            **options,
        )
        self._lock = threading.RLock()

    @contextmanager
    def bound(self, model: Any) -> Iterator[Any]:
        """Bind ``model`` (whose ``state`` attribute holds a state name) for one call."""
        with self._lock:
            self.machine.add_model(model, initial=model.state)
            try:
                yield model
            finally:
                self.machine.remove_model(model)

    def sources(self, trigger: str) -> list[str]:
        """The states from which ``trigger`` is defined (empty for an unknown trigger)."""
        event = self.machine.events.get(trigger)
        return [] if event is None else list(event.transitions)

    def destination(self, trigger: str, source: str) -> str | None:
        event = self.machine.events.get(trigger)
        if event is None or source not in event.transitions:
            return None
        return event.transitions[source][0].dest

    @property
    def triggers(self) -> list[str]:
        return list(self.machine.events)

    def diagram(self, title: str, fmt: str = "mermaid") -> str | bytes:
        """The machine drawn from the same definitions: mermaid text, or SVG through graphviz."""
        from transitions.extensions import GraphMachine

        engine: Literal["mermaid", "graphviz"] = "mermaid" if fmt == "mermaid" else "graphviz"
        graph_machine = GraphMachine(
            states=self.states,
            transitions=self.transitions,
            initial=self.states[0],
            auto_transitions=False,
            send_event=True,
            graph_engine=engine,
            show_conditions=True,
            title=title,
            **self.options,
        )
        graph = graph_machine.get_graph()
        if fmt == "mermaid":
            # transitions styles the machine's current state as "active"; a definition has no
            # current state, so drop the styling rather than highlight the initial state.
            lines = graph.draw(None).splitlines()
            kept = [ln for ln in lines if not ln.strip().startswith(("classDef ", "Class "))]
            return "\n".join(kept) + "\n"
        return graph.pipe(format="svg")
