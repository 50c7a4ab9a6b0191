"""Statistics releases: immutable, versioned, with an internal log of each suppressed cell.

A release is written once and never changed (the database refuses UPDATE and DELETE, see
migration 0006_statistics_releases); recomputing a period makes a new version. What is
published is ``content`` (the disclosure-controlled tables) and the files built from it; the
suppression log (:class:`StatsSuppression`) is internal and never leaves through the API.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mda.models.base import Base, created_at, enum_column, intpk
from mda.vocabulary import PeriodType


class StatsRelease(Base):
    """A disclosure-controlled release for one period; a new computation is a new version."""

    __tablename__ = "stats_releases"
    __table_args__ = (UniqueConstraint("period", "version"),)

    id: Mapped[intpk]
    period: Mapped[str] = mapped_column(String(7))  # 2026-10 or 2026-H2
    period_type: Mapped[PeriodType] = mapped_column(enum_column(PeriodType))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[created_at]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The disclosure settings it was made under (threshold, rounding base, protection level,
    # method), as the columns the list filters by and as the full record.
    threshold: Mapped[int] = mapped_column(Integer)
    rounding_base: Mapped[int] = mapped_column(Integer)
    protection: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    # SHA-256 of the unrounded figures: the same data gives the same release (no new version).
    data_checksum: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the published content (canonical JSON).
    checksum: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Which other releases the audit took into account, and its summary (internal).
    audit: Mapped[dict[str, Any]] = mapped_column(JSON)

    suppressions: Mapped[list[StatsSuppression]] = relationship(
        back_populates="release", order_by="StatsSuppression.id"
    )
    files: Mapped[list[StatsReleaseFile]] = relationship(back_populates="release")


class StatsSuppression(Base):
    """Internal log: one suppressed cell of a release, why, and the range an attacker gets."""

    __tablename__ = "stats_suppressions"

    id: Mapped[intpk]
    release_id: Mapped[int] = mapped_column(ForeignKey("stats_releases.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(48))
    coords: Mapped[dict[str, str]] = mapped_column(JSON)
    # primary (a count below the threshold), secondary (a complement), group_below_threshold
    # (a percentage or lead time over too small a group), derived (from suppressed counts).
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    # A range of the true count that the audit showed an attacker cannot narrow from
    # everything published (two whole-number solutions that far apart; the attacker's
    # range may be wider); None: unbounded.
    range_low: Mapped[int | None] = mapped_column(Integer)
    range_high: Mapped[int | None] = mapped_column(Integer)

    release: Mapped[StatsRelease] = relationship(back_populates="suppressions")


class StatsReleaseFile(Base):
    """A release's download (CSV or XLSX), built once when the release is made."""

    __tablename__ = "stats_release_files"

    release_id: Mapped[int] = mapped_column(ForeignKey("stats_releases.id"), primary_key=True)
    format: Mapped[str] = mapped_column(String(8), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    checksum: Mapped[str] = mapped_column(String(64))

    release: Mapped[StatsRelease] = relationship(back_populates="files")
