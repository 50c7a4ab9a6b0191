"""The statistics' names in the page's language: table titles, dimensions, values, statuses.

The release keeps the contract's names (``inflow_by_source``, ``referral_source``,
``veilig_thuis``, ``_total``, ``suppressed``) and English titles; the dashboards and the
downloads in a language say them with these labels. Values of the vocabulary take the label
maps of :mod:`mda.web.i18n`; dimension names are the terms' field names there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Response
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mda.models import StatsRelease, StatsReleaseFile
from mda.stats.disclosure import TOTAL
from mda.stats.tables import title_of
from mda.web.i18n import LABEL_MAPS, TERM_LABELS, label, translate

#: The columns of a download and the lines of its release sheet.
WORDS = {
    "period": _l("Period"),
    "version": _l("Version"),
    "table": _l("Table"),
    "title": _l("Title"),
    "region": _l("Region"),
    "dimension": _l("Dimension"),
    "category": _l("Category"),
    "value": _l("Value"),
    "status": _l("Status"),
    "release": _l("Release"),
    "period_type": _l("Kind of period"),
    "threshold": _l("Threshold"),
    "rounding_base": _l("Rounded to multiples of"),
}

STATUS_LABELS = {
    "published": _l("published"),
    "suppressed": _l("suppressed"),
}

#: Values of the dimensions that are not in the vocabulary's label maps.
VALUE_LABELS = {
    "outcome": {"on_time": _l("On time"), "late": _l("Late")},
    "statistic": {
        "q1": _l("First quartile"),
        "median": _l("Median"),
        "q3": _l("Third quartile"),
    },
    "period_type": {"month": _l("Month"), "half_year": _l("Half year")},
}


def table_title(name: str, stored: str) -> str:
    """A table's title in the page's language (a table unknown here: its stored title)."""
    return translate(title_of(name, stored))


def dimension_name(name: str) -> str:
    """``referral_source`` as "Verwijzer" ("Referral source"); unknown: the name itself."""
    text = TERM_LABELS["field"].get(name)
    if text is None:
        return name
    text = str(text)
    return text[:1].upper() + text[1:]


def category_label(dimension: str, value: str) -> str:
    """A dimension's value as the pages say it; ``_total`` as "Totaal" ("Total")."""
    if value == TOTAL:
        return _("Total")
    if dimension == "measurement":
        return _("Measurement %(number)s", number=value)
    if dimension in VALUE_LABELS:
        return str(VALUE_LABELS[dimension].get(value, value))
    if dimension in LABEL_MAPS:
        return label(dimension, value)
    return value


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


class StatsLabels:
    """:class:`mda.stats.exports.Labels` in the current locale; use within :func:`labels_in`."""

    def __init__(self, language: str) -> None:
        self.language: str | None = language

    def word(self, key: str) -> str:
        return str(WORDS.get(key, key))

    def title(self, name: str, stored: str) -> str:
        return table_title(name, stored)

    def dimension(self, name: str) -> str:
        return dimension_name(name)

    def category(self, dimension: str, value: str) -> str:
        return category_label(dimension, value)

    def status(self, status: str) -> str:
        return status_label(status)


@contextmanager
def labels_in(language: str) -> Iterator[StatsLabels]:
    """The labels in ``language``, whatever the request's own locale, for the ``with`` block."""
    with force_locale(language):
        yield StatsLabels(language)


def download_response(
    release: StatsRelease,
    found: StatsReleaseFile,
    fmt: str,
    language: str | None,
    vary: str = "Accept-Language",
) -> Response:
    """A stored download as an attachment, with its checksum (``Digest``) and language."""
    suffix = f"-{language}" if language else ""
    name = f"mda-statistics-{release.period}-v{release.version}{suffix}.{fmt}"
    return Response(
        found.content,
        mimetype=found.media_type.split(";")[0],
        headers={
            "Content-Type": found.media_type,
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Language": language or "en",
            "Vary": vary,
            "Digest": f"sha-256={found.checksum}",
            "X-Content-Type-Options": "nosniff",
        },
    )
