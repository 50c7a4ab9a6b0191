"""Binding helper: one shared ``transitions`` machine per workflow, fired on an adapter.

A machine per database row would cost memory and start-up time for every trajectory loaded;
instead each workflow builds one model-less machine at import and fires its events on an
adapter object whose ``state`` attribute holds a state name. The machine's events work on any
such object without it being added to the machine (``Event.trigger(model)``), so nothing is
added to or removed from the shared machine per call and no lock is needed: a call touches
only its own adapter, and concurrent threads (web threads, Celery's thread pool) share nothing
but the machine's read-only definitions.
"""

from __future__ import annotations

from typing import Any, Literal

from transitions import Machine, MachineError


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

    def fire(self, model: Any, trigger: str, *args: Any, **kwargs: Any) -> bool:
        """Fire ``trigger`` on ``model`` (an adapter whose ``state`` holds a state name).

        Returns whether a transition ran (its conditions held); ``model.state`` is then the
        destination. An unknown trigger, or one not defined from the model's state, raises
        ``transitions.MachineError`` as a bound model's trigger method would.
        """
        event = self.machine.events.get(trigger)
        if event is None:
            raise MachineError(f"unknown trigger {trigger!r}")
        return bool(event.trigger(model, *args, **kwargs))

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
