"""The words of the regional pages: building blocks, their progress and the report's questions.

The API speaks the values (``in_progress``, ``vision_in_regional_plan``); the pages show these
labels, Dutch from the catalogue. The MDA++ statuses use the msgids of the services' terms
(``mda_status`` in :data:`mda.web.i18n.TERM_LABELS`), so a refusal and the page use one word.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mda.vocabulary import REPORT_INDICATORS, BlockStatus, MdaStatus

# DESIGN.md section 1: the five MDA++ building blocks (bouwstenen).
BLOCK_NAMES = {
    1: _l("What MDA++ is"),
    2: _l("National criteria for when MDA++ is used"),
    3: _l("Administrative commitment in the region"),
    4: _l("Organisation of MDA++ in the region"),
    5: _l("A plan of approach per household"),
}

# DESIGN.md section 5: geen, in ontwikkeling, pilot gaande, structureel gerealiseerd.
MDA_STATUS_LABELS = {
    MdaStatus.NONE: _l("none"),
    MdaStatus.IN_DEVELOPMENT: _l("in development"),
    MdaStatus.PILOT: _l("pilot under way"),
    MdaStatus.STRUCTURAL: _l("structurally in place"),
}

BLOCK_STATUS_LABELS = {
    BlockStatus.NOT_STARTED: _l("Not started"),
    BlockStatus.IN_PROGRESS: _l("In progress"),
    BlockStatus.DONE: _l("Completed"),
}

# DESIGN.md section 5: the yes/no vision indicators, as a question and what counts as yes.
INDICATORS = {
    "vision_in_regional_plan": (
        _l("Is working by the phased chain-care vision part of the regional plan?"),
        _l(
            "Yes when the region's vision or regional plan of approach on domestic violence "
            "and child abuse says that the region works by the phased chain-care vision "
            "(first safety, then risk-driven care, then recovery)."
        ),
    ),
    "professionals_trained": (
        _l("Have professionals been trained to work by the vision?"),
        _l(
            "Yes when at least some of the professionals in the region (for example of Veilig "
            "Thuis, the local teams or the care and justice partners) have had a training in "
            "working by the phased chain-care vision."
        ),
    ),
    "working_by_vision": (
        _l("Do professionals actually work by the vision?"),
        _l(
            "Yes when professionals in the region work this way in their cases: safety first, "
            "then the risk factors, then recovery. A plan alone is not enough."
        ),
    ),
    "vision_in_procurement": (
        _l("Is the vision part of the procurement or subsidy conditions?"),
        _l(
            "Yes when the municipalities' procurement or subsidy conditions for care providers "
            "ask them to work by the phased chain-care vision."
        ),
    ),
    "local_teams_quality_framework_steps": (
        _l("Has the region taken steps with the quality framework for local teams?"),
        _l(
            "Yes when the region has taken steps this half year to implement the quality "
            "framework 'Werken aan veiligheid' for local (district) teams and municipalities, "
            "for example a self-scan or an improvement plan."
        ),
    ),
}
assert tuple(INDICATORS) == REPORT_INDICATORS, "one question per indicator, in the API's order"

# A short name for each indicator, for tables.
INDICATOR_SHORT = {
    "vision_in_regional_plan": _l("Vision in the regional plan"),
    "professionals_trained": _l("Professionals trained"),
    "working_by_vision": _l("Working by the vision"),
    "vision_in_procurement": _l("Vision in procurement"),
    "local_teams_quality_framework_steps": _l("Steps with the quality framework"),
}


def status_label(status: MdaStatus | str | None) -> str:
    """The MDA++ status in the page's language (Dutch: geen, in ontwikkeling, ...)."""
    if status is None or status == "":
        return ""
    return str(MDA_STATUS_LABELS[MdaStatus(status)])


def block_status_label(status: BlockStatus | str | None) -> str:
    if status is None or status == "":
        return ""
    return str(BLOCK_STATUS_LABELS[BlockStatus(status)])


def yes_no(value: bool | None) -> str:
    if value is None:
        return str(_l("not answered"))
    return str(_l("yes")) if value else str(_l("no"))
