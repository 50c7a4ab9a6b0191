"""Use cases on household trajectories (DESIGN.md sections 3, 4 and 6).

Every function takes ``(session, actor, ...)``, authorises, and runs in one unit of work: the
new state, the incremented version, the event, the access-log entry and the deadline rows are
committed together, or nothing is. The workflow module decides; these modules load, check and
write, and return domain objects (the web layer presents them). A change made against a stale
version is a :class:`~mda.services.errors.Conflict`.

- :mod:`._common`: loading, the screening rule, the workflow facts, and
  :func:`trajectory_change`, the preamble every change shares;
- :mod:`.registration`: register a referral, find one by its source reference;
- :mod:`.changes`: coordinator, checklist, triggers, measurements;
- :mod:`.lifecycle`: suspend, resume, transfer, reopen;
- :mod:`.queries`: get, list, the event log and its replay.
"""

from __future__ import annotations

from mda.services.trajectories._common import (
    MAX_PER_PAGE,
    MEASUREMENT_STATES,
    Change,
    measurement_clock,
    screening_rule,
    trajectory_change,
)
from mda.services.trajectories.changes import (
    assign_coordinator,
    fire_trigger,
    record_measurement,
    set_checklist_item,
)
from mda.services.trajectories.lifecycle import reopen, resume, suspend, transfer
from mda.services.trajectories.queries import (
    current_facts,
    events_of,
    get_trajectory,
    list_trajectories,
    replay_events,
)
from mda.services.trajectories.registration import find_by_reference, register_referral

__all__ = [
    "MAX_PER_PAGE",
    "MEASUREMENT_STATES",
    "Change",
    "assign_coordinator",
    "current_facts",
    "events_of",
    "find_by_reference",
    "fire_trigger",
    "get_trajectory",
    "list_trajectories",
    "measurement_clock",
    "record_measurement",
    "register_referral",
    "reopen",
    "replay_events",
    "resume",
    "screening_rule",
    "set_checklist_item",
    "suspend",
    "trajectory_change",
    "transfer",
]
