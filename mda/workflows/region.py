"""The regional MDA++ implementation workflow of DESIGN.md section 5, as plain declarations.

A region's status climbs none -> in_development -> pilot -> structural. Moving up needs the
building blocks behind the new status (configurable, see :data:`REQUIREMENTS`); moving down
needs a reason. One trigger per target status (``to_pilot`` and so on), from every other
status, so the diagram shows every move a manager can make.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mda.services.messages import Text, msg, term
from mda.vocabulary import BlockStatus, MdaStatus
from mda.workflows.binding import SharedMachine
from mda.workflows.trajectory import Refused

M = MdaStatus
ORDER: tuple[MdaStatus, ...] = (M.NONE, M.IN_DEVELOPMENT, M.PILOT, M.STRUCTURAL)
STATUS_LABELS: dict[MdaStatus, str] = {
    M.NONE: "geen",
    M.IN_DEVELOPMENT: "in ontwikkeling",
    M.PILOT: "pilot gaande",
    M.STRUCTURAL: "structureel gerealiseerd",
}
BLOCKS: tuple[int, ...] = (1, 2, 3, 4, 5)
BLOCK_LABELS: dict[int, str] = {
    1: "What MDA++ is",
    2: "National criteria for MDA++",
    3: "Administrative commitment in the region",
    4: "Organisation of MDA++ in the region",
    5: "A plan of approach per household",
}
_RANK = {status: rank for rank, status in enumerate(ORDER)}
_BLOCK_RANK = {BlockStatus.NOT_STARTED: 0, BlockStatus.IN_PROGRESS: 1, BlockStatus.DONE: 2}

# status -> {block: lowest block status needed}. Defaults of DESIGN.md section 5.
REQUIREMENTS: dict[MdaStatus, dict[int, BlockStatus]] = {
    M.NONE: {},
    M.IN_DEVELOPMENT: {},
    M.PILOT: {3: BlockStatus.IN_PROGRESS, 4: BlockStatus.IN_PROGRESS},
    M.STRUCTURAL: dict.fromkeys(BLOCKS, BlockStatus.DONE),
}


@dataclass
class RegionFacts:
    status: MdaStatus = M.NONE
    blocks: dict[int, BlockStatus] = field(
        default_factory=lambda: dict.fromkeys(BLOCKS, BlockStatus.NOT_STARTED)
    )

    @property
    def state(self) -> str:
        return self.status.value

    @state.setter
    def state(self, value: str) -> None:
        self.status = MdaStatus(value)


def requirements_unmet(
    status: MdaStatus,
    blocks: Mapping[int, BlockStatus],
    requirements: Mapping[MdaStatus, Mapping[int, BlockStatus]] | None = None,
) -> list[Text]:
    """The blocks that ``status`` needs and ``blocks`` do not reach, in words."""
    needed = (requirements or REQUIREMENTS).get(status, {})
    unmet = []
    for block, lowest in sorted(needed.items()):
        have = blocks.get(block, BlockStatus.NOT_STARTED)
        if _BLOCK_RANK[have] < _BLOCK_RANK[lowest]:
            terms = {
                "status": term("mda_status", status),
                "block": block,
                "have": term("block_status", have),
            }
            if lowest is BlockStatus.DONE:
                text = msg(
                    "%(status)s needs building block %(block)d done (it is %(have)s)", **terms
                )
            else:
                text = msg(
                    "%(status)s needs building block %(block)d in progress or done "
                    "(it is %(have)s)",
                    **terms,
                )
            unmet.append(text)
    return unmet


def is_step_down(source: MdaStatus, dest: MdaStatus) -> bool:
    return _RANK[dest] < _RANK[source]


def _guard(event: Any) -> bool:
    facts: RegionFacts = event.model
    dest = MdaStatus(event.transition.dest)
    source = MdaStatus(event.transition.source)
    unmet = []
    if is_step_down(source, dest) and not (event.kwargs.get("reason") or "").strip():
        unmet.append(
            msg(
                "moving down from %(source)s to %(dest)s needs a reason",
                source=term("mda_status", source),
                dest=term("mda_status", dest),
            )
        )
    unmet += requirements_unmet(dest, facts.blocks, event.kwargs.get("requirements"))
    event.kwargs["unmet"].extend(unmet)
    return not unmet


def building_blocks_ready(event: Any) -> bool:
    return _guard(event)


def reason_given(event: Any) -> bool:
    return _guard(event)


def _definitions() -> list[dict[str, Any]]:
    # Upward and downward moves are separate transitions, so the diagram names the guard that
    # matters for each; both run the same check.
    definitions = []
    for dest in ORDER:
        lower = [s.value for s in ORDER if _RANK[s] < _RANK[dest]]
        higher = [s.value for s in ORDER if _RANK[s] > _RANK[dest]]
        trigger = f"to_{dest.value}"
        if lower:
            definitions.append(
                {
                    "trigger": trigger,
                    "source": lower,
                    "dest": dest.value,
                    "conditions": [building_blocks_ready],
                }
            )
        if higher:
            definitions.append(
                {
                    "trigger": trigger,
                    "source": higher,
                    "dest": dest.value,
                    "conditions": [reason_given],
                }
            )
    return definitions


MACHINE = SharedMachine([s.value for s in ORDER], _definitions())


def change_status(
    facts: RegionFacts,
    dest: MdaStatus | str,
    *,
    reason: str | None = None,
    requirements: Mapping[MdaStatus, Mapping[int, BlockStatus]] | None = None,
) -> tuple[MdaStatus, MdaStatus]:
    """Move ``facts`` to status ``dest`` (blocks already updated) or raise :class:`Refused`."""
    dest = MdaStatus(dest)
    source = facts.status
    trigger = f"to_{dest.value}"
    if dest is source:
        missing = requirements_unmet(dest, facts.blocks, requirements)
        if missing:
            raise Refused(trigger, [*missing, msg("lower the status first (with a reason)")])
        return source, dest
    unmet: list[Text] = []
    accepted = MACHINE.fire(facts, trigger, reason=reason, requirements=requirements, unmet=unmet)
    if not accepted:
        raise Refused(trigger, unmet)
    return source, dest


def diagram(fmt: str = "mermaid") -> str | bytes:
    """The regional implementation workflow as mermaid text or SVG."""
    return MACHINE.diagram("MDA++ regional implementation", fmt)
