"""Language: the user's choice in the session, else Dutch (the product's default); and labels.

English is the source language of the messages; the Dutch catalogue is in mda/translations.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

from flask import Flask, current_app, session
from flask_babel import get_locale, get_translations, ngettext
from flask_babel import lazy_gettext as _l

from mda.services.errors import DomainError
from mda.services.messages import render
from mda.vocabulary import (
    AccessAction,
    ChildrenBucket,
    ClosureReason,
    DeadlineKind,
    DeadlineStatus,
    DueUnit,
    Phase,
    ReferralSource,
    Role,
    TrajectoryState,
    ViolenceLevel,
    ViolenceType,
)

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}

ROLE_LABELS = {
    Role.COORDINATOR: _l("coordinator"),
    Role.MANAGER: _l("regional manager"),
    Role.PROGRAMME: _l("programme team"),
    Role.ADMIN: _l("administrator"),
    Role.AUDITOR: _l("privacy officer"),
}

ACTION_LABELS = {
    AccessAction.READ: _l("read"),
    AccessAction.SEARCH: _l("search"),
    AccessAction.CREATE: _l("create"),
    AccessAction.CHANGE: _l("change"),
    AccessAction.EXPORT: _l("export"),
    AccessAction.DENIED: _l("denied"),
}


# --- the trajectory workflow's vocabulary (DESIGN.md sections 3, 4 and 6) -----------------
# The API speaks the values; the pages show these labels, Dutch from the catalogue.

STATE_LABELS = {
    TrajectoryState.REFERRED: _l("Referred"),
    TrajectoryState.SCREENING: _l("Screening of the MDA++ criteria"),
    TrajectoryState.TEAM_FORMING: _l("Team forming and commitment"),
    TrajectoryState.IMMEDIATE_SAFETY: _l("Immediate safety"),
    TrajectoryState.RISK_CARE: _l("Risk-driven care"),
    TrajectoryState.RECOVERY: _l("Recovery"),
    TrajectoryState.AFTERCARE: _l("Aftercare and monitoring"),
    TrajectoryState.CLOSED: _l("Closed"),
}

PHASE_LABELS = {
    Phase.INTAKE: _l("Intake"),
    Phase.SAFETY: _l("Immediate safety"),
    Phase.RISK: _l("Risk-driven care"),
    Phase.RECOVERY: _l("Recovery"),
    Phase.AFTERCARE: _l("Aftercare"),
    Phase.CLOSED: _l("Closed"),
}

# The MDA++ building blocks a state works on (DESIGN.md section 3).
BUILDING_BLOCK_LABELS = {
    TrajectoryState.SCREENING: _l("1 and 2"),
    TrajectoryState.TEAM_FORMING: _l("3 and 4 (case level), 5 (first plan)"),
    TrajectoryState.IMMEDIATE_SAFETY: _l("5 (plan of approach)"),
    TrajectoryState.RISK_CARE: _l("5 (plan of approach)"),
    TrajectoryState.RECOVERY: _l("5 (plan of approach)"),
}

TRIGGER_LABELS = {
    "start_screening": _l("Start screening"),
    "accept": _l("Accept for MDA++"),
    "decline": _l("Decline (not eligible)"),
    "form_team": _l("Team formed"),
    "safety_established": _l("Safety established"),
    "risks_addressed": _l("Risks addressed"),
    "recovery_completed": _l("Recovery completed"),
    "relapse": _l("Relapse (new incident)"),
    "close": _l("Close"),
    "reopen": _l("Reopen"),
}

CHECKLIST_LABELS = {
    "multiple_life_domains": _l("Problems in several life domains"),
    "interrelated_problems": _l("The problems are interrelated"),
    "intergenerational": _l("Violence passes from generation to generation"),
    "severe_or_persistent": _l("The violence is severe or persistent"),
    "needs_care_and_justice": _l("Care and justice are both needed"),
    "lead_assigned": _l("A lead professional is assigned"),
    "disciplines_committed": _l(
        "Disciplines committed: at least one care and one justice discipline"
    ),
    "partners_committed": _l("Partner organisations committed"),
    "initial_plan": _l("A first plan of approach is made"),
    "safety_conditions_set": _l("Safety conditions are set"),
    "safety_plan_made": _l("A safety plan is made"),
    "trauma_screening_considered": _l("Trauma screening is considered"),
    "risk_assessment_done": _l("The risk assessment is done"),
    "plan_updated_for_risks": _l("The plan is updated for the risks"),
    "perpetrator_approach_considered": _l("A perpetrator approach is considered"),
    "recovery_support_started": _l("Recovery support has started"),
    "trauma_treatment_decided": _l("Trauma treatment is decided on"),
    "goals_evaluated": _l("The goals are evaluated"),
}

CLOSURE_REASON_LABELS = {
    ClosureReason.GOALS_MET: _l("Goals met"),
    ClosureReason.STEPPED_DOWN: _l("Stepped down to regular care"),
    ClosureReason.NOT_ELIGIBLE: _l("Not eligible for MDA++"),
    ClosureReason.MOVED_OUT_OF_REGION: _l("Moved out of the region"),
    ClosureReason.HOUSEHOLD_WITHDREW: _l("The household withdrew"),
    ClosureReason.OTHER: _l("Other reason"),
}

REFERRAL_SOURCE_LABELS = {
    ReferralSource.VEILIG_THUIS: _l("Veilig Thuis"),
    ReferralSource.LOCAL_TEAM: _l("Local team"),
    ReferralSource.POLICE: _l("Police"),
    ReferralSource.PUBLIC_PROSECUTOR: _l("Public Prosecution Service"),
    ReferralSource.CHILD_PROTECTION_BOARD: _l("Child Protection Board"),
    ReferralSource.CERTIFIED_INSTITUTION: _l("Certified institution (youth protection)"),
    ReferralSource.HEALTHCARE: _l("Healthcare"),
    ReferralSource.OTHER: _l("Other source"),
}

VIOLENCE_TYPE_LABELS = {
    ViolenceType.PARTNER_VIOLENCE: _l("Partner violence"),
    ViolenceType.CHILD_ABUSE: _l("Child abuse"),
    ViolenceType.ELDER_ABUSE: _l("Elder abuse"),
    ViolenceType.SEXUAL_VIOLENCE: _l("Sexual violence"),
    ViolenceType.HONOUR_RELATED_VIOLENCE: _l("Honour-related violence"),
    ViolenceType.HUMAN_TRAFFICKING: _l("Human trafficking"),
}

CHILDREN_LABELS = {
    ChildrenBucket.NONE: _l("No children"),
    ChildrenBucket.ONE: _l("1 child"),
    ChildrenBucket.TWO: _l("2 children"),
    ChildrenBucket.THREE_OR_MORE: _l("3 or more children"),
}

VIOLENCE_LEVEL_LABELS = {
    ViolenceLevel.NONE: _l("No violence"),
    ViolenceLevel.MODERATE: _l("Moderate violence"),
    ViolenceLevel.SEVERE: _l("Much and severe violence"),
}

DEADLINE_KIND_LABELS = {
    DeadlineKind.SCREENING_DUE: _l("Complete the screening"),
    DeadlineKind.TEAM_DUE: _l("Form the team"),
    DeadlineKind.SAFETY_PLAN_DUE: _l("Make the safety plan"),
    DeadlineKind.MEASUREMENT_1_DUE: _l("Safety measurement 1"),
    DeadlineKind.MEASUREMENT_2_DUE: _l("Safety measurement 2"),
    DeadlineKind.MEASUREMENT_3_DUE: _l("Safety measurement 3"),
    DeadlineKind.PLAN_REVIEW_DUE: _l("Review the plan of approach"),
    DeadlineKind.SCHOOL_NOTICE_DUE: _l("Inform the school (Handle with care)"),
    DeadlineKind.PHASE_OVERRUN: _l("Immediate safety takes too long"),
}

DEADLINE_STATUS_LABELS = {
    DeadlineStatus.OPEN: _l("Open"),
    DeadlineStatus.MET: _l("Met"),
    DeadlineStatus.CANCELLED: _l("Cancelled"),
    DeadlineStatus.ACKNOWLEDGED: _l("Acknowledged with a note"),
}

EVENT_KIND_LABELS = {
    "registered": _l("Registered"),
    "transition": _l("Step in the workflow"),
    "checklist": _l("Checklist"),
    "measurement": _l("Safety measurement"),
    "coordinator": _l("Coordinator assigned"),
    "suspended": _l("Suspended"),
    "resumed": _l("Resumed"),
    "transferred": _l("Transferred to another region"),
    "deadline_met": _l("Deadline met"),
    "deadline_acknowledged": _l("Deadline acknowledged"),
}

LABEL_MAPS: dict[str, dict[Any, Any]] = {
    "state": STATE_LABELS,
    "phase": PHASE_LABELS,
    "building_block": BUILDING_BLOCK_LABELS,
    "trigger": TRIGGER_LABELS,
    "checklist": CHECKLIST_LABELS,
    "closure_reason": CLOSURE_REASON_LABELS,
    "referral_source": REFERRAL_SOURCE_LABELS,
    "violence_type": VIOLENCE_TYPE_LABELS,
    "children": CHILDREN_LABELS,
    "violence_level": VIOLENCE_LEVEL_LABELS,
    "deadline_kind": DEADLINE_KIND_LABELS,
    "deadline_status": DEADLINE_STATUS_LABELS,
    "event_kind": EVENT_KIND_LABELS,
}


def label(kind: str, value: Any) -> str:
    """The page's label for a value of the vocabulary (``label("state", "screening")``).

    Enum members and their plain values both work; an unknown value shows as itself, so a
    value added to the vocabulary before its label never breaks a page.
    """
    if value is None or value == "":
        return ""
    labels = LABEL_MAPS[kind]
    key = value.value if isinstance(value, Enum) else value
    for candidate, text in labels.items():
        if (candidate.value if isinstance(candidate, Enum) else candidate) == key:
            return str(text)
    return str(key)


def choices(kind: str) -> list[tuple[str, str]]:
    """(value, label) pairs of a label map, in the vocabulary's order, for a select or radios."""
    return [
        (key.value if isinstance(key, Enum) else key, str(text))
        for key, text in LABEL_MAPS[kind].items()
    ]


def duration_text(amount: int, unit: DueUnit | str) -> str:
    """ "10 working days", "24 hours", "6 months": a deadline rule's term in words."""
    unit = DueUnit(unit)
    if unit is DueUnit.WORKING_DAYS:
        return ngettext("%(num)d working day", "%(num)d working days", amount)
    if unit is DueUnit.HOURS:
        return ngettext("%(num)d hour", "%(num)d hours", amount)
    if unit is DueUnit.DAYS:
        return ngettext("%(num)d day", "%(num)d days", amount)
    if unit is DueUnit.WEEKS:
        return ngettext("%(num)d week", "%(num)d weeks", amount)
    return ngettext("%(num)d month", "%(num)d months", amount)


def select_locale() -> str | None:
    languages = current_app.config.get("LANGUAGES", ("nl", "en"))
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    # Dutch by default, whatever the browser prefers: the product's terms are Dutch, and a
    # browser set to English is common among professionals who still work in Dutch.
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "nl")


def role_label(role: Role | str | None) -> str:
    if role is None:
        return ""
    return str(ROLE_LABELS.get(Role(role), role))


def action_label(action: AccessAction | str) -> str:
    return str(ACTION_LABELS.get(AccessAction(action), action))


def init_app(app: Flask) -> None:
    @app.context_processor
    def labels() -> dict[str, object]:
        return {
            "get_locale": lambda: str(get_locale() or "nl"),
            "role_label": role_label,
            "action_label": action_label,
            "label": label,
            "language_names": LANGUAGE_NAMES,
            "languages": app.config.get("LANGUAGES", ("nl", "en")),
        }


# --- the services' messages in the page's language (see mda/services/messages.py) ---------

# Labels for terms of the services' messages that have no label map above.
TERM_LABELS: dict[str, dict[str, Any]] = {
    "field": {
        "reason": _l("reason"),
        "details": _l("details"),
        "note": _l("note"),
        "name": _l("name"),
        "kind": _l("kind"),
        "reference": _l("reference"),
        "referred_back_to": _l("referred back to"),
        "incident_date": _l("incident date"),
        "measured_on": _l("measurement date"),
        "referred_on": _l("referral date"),
        "closure_reason": _l("closure reason"),
        # The dimensions of the statistics' tables (mda/stats/tables.py).
        "region": _l("region"),
        "referral_source": _l("referral source"),
        "state": _l("state"),
        "phase": _l("phase"),
        "measurement": _l("measurement"),
        "outcome": _l("outcome"),
        "statistic": _l("statistic"),
        "violence_level": _l("violence level"),
        "day": _l("day"),
        "amount": _l("term"),
        "unit": _l("unit"),
        "remind_before_working_days": _l("reminder (working days before)"),
        "escalate_after_working_days": _l("escalation (working days after)"),
        "repeat_every_working_days": _l("repeat (every so many working days)"),
        "trajectory_id": _l("trajectory"),
        "username": _l("username"),
        "action": _l("action"),
        "date_from": _l("from"),
        "date_to": _l("to"),
    },
    "mda_status": {
        "none": _l("none"),
        "in_development": _l("in development"),
        "pilot": _l("pilot under way"),
        "structural": _l("structurally in place"),
    },
    "block_status": {
        "not_started": _l("not started"),
        "in_progress": _l("in progress"),
        "done": _l("done"),
    },
}
# Terms whose labels are phrases or capitalised names: each quoted where it stands in a sentence.
QUOTED_TERMS = frozenset({"checklist", "state", "mda_status", "closure_reason"})


def term_label(kind: str, value: str) -> str:
    """The page's word for a term of a service's message; an unknown one shows as itself."""
    if kind == "role" and value in {role.value for role in Role}:
        text = role_label(value)
    elif kind in LABEL_MAPS:
        text = label(kind, value)
    elif value in TERM_LABELS.get(kind, {}):
        text = str(TERM_LABELS[kind][value])
    else:
        return value
    return f"‘{text}’" if kind in QUOTED_TERMS else text


def translate(message: Any) -> str:
    """A service's message (:class:`mda.services.messages.Text`) in the current language.

    ``gettext(msgid) % params``, each param translated first and each term shown by its
    label. Anything else, or a translation that does not fit its params, is shown as the
    English it is.
    """
    translations = get_translations()
    try:
        return str(
            render(
                message,
                gettext=translations.ugettext,
                ngettext=translations.ungettext,
                term=term_label,
            )
        )
    except (KeyError, ValueError, TypeError):
        log.exception("message %r does not fit its translation", message)
        return str(message)


def error_text(exc: Exception) -> str:
    """A service's refusal or validation message in the page's language.

    Every page shows a :class:`mda.services.errors.DomainError` through this function.
    """
    if isinstance(exc, DomainError):
        return translate(exc.text)
    return str(getattr(exc, "message", exc))


def condition_texts(conditions: list[str]) -> list[str]:
    """A workflow's unmet conditions (as services give them) in the page's language."""
    return [translate(condition) for condition in conditions]
