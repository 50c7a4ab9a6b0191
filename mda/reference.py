"""Reference data shipped with the product: the 28 GHNT regions and default deadline rules."""

from __future__ import annotations

from mda.vocabulary import DeadlineKind, DueUnit

# The 28 regions of the 2020-2021 project pool, each with a stable short code. The codes are
# part of the API (``/api/v1/regions/{code}``): never change one, add new ones instead.
REGIONS: tuple[tuple[str, str], ...] = (
    ("AWF", "Alkmaar-West-Friesland"),
    ("AMA", "Amsterdam-Amstelland"),
    ("ARA", "Arnhem-Achterhoek"),
    ("BZO", "Brabant Zuidoost"),
    ("DRE", "Drenthe"),
    ("FLE", "Flevoland"),
    ("FRI", "Friesland"),
    ("GLZ", "Gelderland-Zuid"),
    ("GVS", "Gooi en Vechtstreek"),
    ("GRO", "Groningen"),
    ("HGL", "Haaglanden"),
    ("HVB", "Hart van Brabant"),
    ("HMI", "Hollands-Midden"),
    ("IJS", "IJsselland"),
    ("KEN", "Kennemerland"),
    ("KNH", "Kop van Noord-Holland"),
    ("NML", "Noord- en Midden-Limburg"),
    ("NOB", "Noord- en Oost-Brabant"),
    ("NOG", "Noord- en Oost-Gelderland"),
    ("RRN", "Rotterdam-Rijnmond"),
    ("TWE", "Twente"),
    ("UTR", "Utrecht"),
    ("WBR", "West-Brabant"),
    ("WVV", "West-Veluwe Vallei"),
    ("ZWL", "Zaanstreek-Waterland"),
    ("ZEE", "Zeeland"),
    ("ZHZ", "Zuid-Holland Zuid"),
    ("ZLI", "Zuid-Limburg"),
)

BUILDING_BLOCKS = (1, 2, 3, 4, 5)

# kind: (amount, unit, recurring) -- DESIGN.md section 4.
DEFAULT_DEADLINE_RULES: dict[DeadlineKind, tuple[int, DueUnit, bool]] = {
    DeadlineKind.SCREENING_DUE: (10, DueUnit.WORKING_DAYS, False),
    DeadlineKind.TEAM_DUE: (10, DueUnit.WORKING_DAYS, False),
    DeadlineKind.SAFETY_PLAN_DUE: (5, DueUnit.WORKING_DAYS, False),
    DeadlineKind.MEASUREMENT_1_DUE: (10, DueUnit.WORKING_DAYS, False),
    DeadlineKind.MEASUREMENT_2_DUE: (6, DueUnit.MONTHS, False),
    DeadlineKind.MEASUREMENT_3_DUE: (18, DueUnit.MONTHS, False),
    DeadlineKind.PLAN_REVIEW_DUE: (6, DueUnit.WEEKS, True),
    DeadlineKind.SCHOOL_NOTICE_DUE: (24, DueUnit.HOURS, False),
    DeadlineKind.PHASE_OVERRUN: (3, DueUnit.MONTHS, False),
}
