"""What the dashboards show: figures, table rows and charts, in the page's language.

Every function starts with a call that authorises (:func:`mda.stats.dashboard.region_dashboard`,
:func:`mda.stats.releases.list_releases`); only then does it read the region names.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import Region, StatsRelease
from mda.services.clock import NL
from mda.services.context import Actor
from mda.services.settings import settings_of
from mda.stats import dashboard, releases
from mda.stats.disclosure import TOTAL
from mda.stats.periods import Period
from mda.stats.tables import ACTIVE_STATES, COUNT_TABLE_NAMES, MEASUREMENTS, PHASES
from mda.vocabulary import STATE_PHASE, PeriodType, TrajectoryState, ViolenceLevel
from mda.web.charts import Series, bar_chart, line_chart, stacked_bar_chart
from mda.web.i18n import label
from mda.web.stats_labels import table_title

SUPPRESSED = "—"


def number(value: float | None, digits: int = 0) -> str:
    """A figure as the page's language writes it; None (suppressed) as a dash."""
    if value is None:
        return SUPPRESSED
    if digits == 0:
        return format_decimal(round(value))
    return format_decimal(round(value, digits), format="#,##0." + "0" * digits)


def period_label(period: str) -> str:
    """``2026-10`` as "okt. 2026" ("Oct 2026"); ``2026-H2`` as "2e helft 2026"."""
    parsed = Period.parse(period)
    if parsed.kind is PeriodType.MONTH:
        return format_date(date(parsed.year, parsed.index, 1), "MMM yyyy")
    if parsed.index == 1:
        return _("first half of %(year)s", year=parsed.year)
    return _("second half of %(year)s", year=parsed.year)


def _region_names(session: Session) -> dict[str, str]:
    return {code: name for code, name in session.execute(select(Region.code, Region.name))}


# --- the manager's dashboard -----------------------------------------------------------------


def region_page(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    now = settings_of(session).now()
    figures = dashboard.region_dashboard(session, actor, code, now)
    name = _region_names(session).get(code, code)
    months = [period_label(m.period) for m in figures.months]
    flows = line_chart(
        "chart-flow",
        _("Inflow and outflow per month in %(region)s", region=name),
        _(
            "Line chart of the trajectories that came in and that were closed in each of the "
            "last 12 months. The table beside it gives the same figures."
        ),
        months,
        [
            Series(_("Inflow"), [m.inflow for m in figures.months]),
            Series(_("Outflow"), [m.outflow for m in figures.months]),
        ],
        x_label=_("Month"),
        y_label=_("Trajectories"),
    )
    state_labels = [label("state", s) for s in ACTIVE_STATES]
    states = bar_chart(
        "chart-states",
        _("Trajectories per state now"),
        _(
            "Bar chart of the open trajectories in each state. The table beside it gives the "
            "same figures."
        ),
        state_labels,
        [Series(_("Trajectories"), [figures.per_state[s] for s in ACTIVE_STATES])],
        x_label=_("State"),
        y_label=_("Trajectories"),
    )
    phases = bar_chart(
        "chart-phases",
        _("Trajectories per phase now"),
        _(
            "Bar chart of the open trajectories in each phase. The table beside it gives the "
            "same figures."
        ),
        [label("phase", p) for p in PHASES],
        [Series(_("Trajectories"), [figures.per_phase[p] for p in PHASES])],
        x_label=_("Phase"),
        y_label=_("Trajectories"),
    )
    month_rows = [
        {
            "month": label_,
            "inflow": number(m.inflow),
            "outflow": number(m.outflow),
            "relapses": number(m.relapses),
            "due": number(m.deadlines_due),
            "on_time": number(m.deadlines_on_time),
            "share": number(m.on_time_share, 1) if m.on_time_share is not None else "",
        }
        for label_, m in zip(months, figures.months, strict=True)
    ]
    totals = figures.totals
    share = (
        number(100.0 * totals["deadlines_on_time"] / totals["deadlines_due"], 1)
        if totals["deadlines_due"]
        else ""
    )
    return {
        "code": code,
        "name": name,
        "first": months[0],
        "last": months[-1],
        "flows": flows,
        "states": states,
        "phases": phases,
        "month_rows": month_rows,
        "totals": {key: number(value) for key, value in totals.items()},
        "on_time_share": share,
        "state_rows": [
            (label("state", s), label("phase", STATE_PHASE[TrajectoryState(s)]), number(n))
            for s, n in figures.per_state.items()
        ],
        "phase_rows": [(label("phase", p), number(n)) for p, n in figures.per_phase.items()],
        "lead_times": [
            {
                "period": period_label(t.period),
                "phase": label("phase", t.phase),
                "stays": number(t.stays),
                "q1": number(t.q1, 1),
                "median": number(t.median, 1),
                "q3": number(t.q3, 1),
            }
            for t in figures.lead_times
        ],
        "overdue": figures.overdue,
    }


# --- the programme's figures -------------------------------------------------------------------


def latest_per_period(session: Session, actor: Actor) -> dict[str, StatsRelease]:
    """The newest version of each released period, newest period first."""
    latest: dict[str, StatsRelease] = {}
    for release in releases.list_releases(session, actor):
        latest.setdefault(release.period, release)
    return latest


def programme_page(session: Session, actor: Actor, period: str | None) -> dict[str, Any]:
    latest = latest_per_period(session, actor)
    choices = [(p, period_label(p)) for p in latest]
    if not latest:
        return {"release": None, "choices": choices, "period": None}
    chosen = period if period in latest else next(iter(latest))
    release = latest[chosen]
    counts: dict[str, Any] = {name: {} for name in COUNT_TABLE_NAMES}
    counts.update(releases.published_counts(release.content))
    names = _region_names(session)
    inflow = counts["inflow_by_source"]
    active = counts["active_by_state"]
    regions = sorted({coords[0] for coords in inflow} - {TOTAL})
    region_rows = [
        {
            "code": code,
            "name": names.get(code, code),
            "inflow": number(inflow.get((code, TOTAL))),
            "active": number(active.get((code, TOTAL))),
        }
        for code in regions
    ]
    national = {
        "inflow": number(inflow.get((TOTAL, TOTAL))),
        "active": number(active.get((TOTAL, TOTAL))),
    }
    period_text = period_label(chosen)
    regions_chart = bar_chart(
        "chart-regions",
        _("Inflow and active trajectories per region, %(period)s", period=period_text),
        _(
            "Bar chart with two bars for each of the regions: the inflow in the period and the "
            "trajectories active at its end, as released. Figures that were not published have "
            "no bar. The table beside it gives the same figures."
        ),
        [names.get(c, c) for c in regions],
        [
            Series(_("Inflow"), [inflow.get((c, TOTAL)) for c in regions]),
            Series(_("Active at the end"), [active.get((c, TOTAL)) for c in regions]),
        ],
        x_label=_("Region"),
        y_label=_("Trajectories"),
    )
    national_rows = [
        (_("Inflow"), number(inflow.get((TOTAL, TOTAL)))),
        (_("Accepted after screening"), number(counts["accepted"].get((TOTAL,)))),
        (_("Declined after screening"), number(counts["declined"].get((TOTAL,)))),
        (_("Active at the end"), number(active.get((TOTAL, TOTAL)))),
        (_("Outflow"), number(counts["outflow_by_reason"].get((TOTAL, TOTAL)))),
        (_("Relapses"), number(counts["relapses"].get((TOTAL,)))),
        (_("Re-entries within 12 months"), number(counts["reentries"].get((TOTAL,)))),
    ]
    outcome = counts["outcome_by_measurement"]
    levels = [v.value for v in ViolenceLevel]
    measurement_labels = [_("Measurement %(number)s", number=m) for m in MEASUREMENTS]
    outcome_chart = stacked_bar_chart(
        "chart-outcome",
        _("Safety measurements by violence level, %(period)s", period=period_text),
        _(
            "Stacked bar chart: for measurements 1, 2 and 3 of the impact monitor, the "
            "households with no, moderate and much and severe violence, nationally. Figures "
            "that were not published have no segment. The table beside it gives the same "
            "figures."
        ),
        measurement_labels,
        [
            Series(label("violence_level", v), [outcome.get((TOTAL, m, v)) for m in MEASUREMENTS])
            for v in levels
        ],
        x_label=_("Measurement"),
        y_label=_("Households"),
    )
    outcome_rows = [
        {
            "measurement": measurement_labels[i],
            "cells": [number(outcome.get((TOTAL, m, v))) for v in levels],
            "total": number(outcome.get((TOTAL, m, TOTAL))),
        }
        for i, m in enumerate(MEASUREMENTS)
    ]
    suppressed = any(value is None for table in counts.values() for value in table.values())
    tables = [
        (table["name"], table_title(table["name"], table.get("title", "")))
        for table in release.content["tables"]
    ]
    return {
        "release": {
            "id": release.id,
            "tables": tables,
            "period": period_text,
            "version": release.version,
            "created": release.created_at.astimezone(NL).strftime("%d-%m-%Y %H:%M"),
            "threshold": release.threshold,
            "base": release.rounding_base,
        },
        "choices": choices,
        "period": chosen,
        "region_rows": region_rows,
        "national": national,
        "regions_chart": regions_chart,
        "national_rows": national_rows,
        "outcome_chart": outcome_chart,
        "level_labels": [label("violence_level", v) for v in levels],
        "outcome_rows": outcome_rows,
        "suppressed": suppressed,
    }
