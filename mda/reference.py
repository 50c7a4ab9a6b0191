"""Reference data shipped with the product: the 28 GHNT regions, default deadline rules and
the days made equal to a holiday by decree."""

from __future__ import annotations

from datetime import date

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

# Days made equal to an Algemene termijnenwet holiday by decree (Besluit van ... houdende
# gelijkstelling van dagen met algemeen erkende feestdagen), as published for 2026-2028. The
# statutory holidays themselves are computed (mda.services.workdays); these are data: loaded
# into ``calendar_days`` by ``load_reference_data`` and extended by an admin when a new decree
# appears.
DECREE_DAYS: dict[date, str] = {
    date(2026, 1, 2): "Dag na Nieuwjaarsdag (bij besluit)",
    date(2026, 5, 15): "Dag na Hemelvaartsdag (bij besluit)",
    date(2027, 5, 7): "Dag na Hemelvaartsdag (bij besluit)",
    date(2028, 4, 28): "Dag na Koningsdag (bij besluit)",
    date(2028, 5, 26): "Dag na Hemelvaartsdag (bij besluit)",
}
