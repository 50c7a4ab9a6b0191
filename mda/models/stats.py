"""Statistics releases: immutable, versioned, with a record of each suppressed cell."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mda.models.base import Base, created_at, enum_column, intpk
from mda.vocabulary import PeriodType


class StatsRelease(Base):
    """A disclosure-controlled release for one period; a new computation is a new version."""

    __tablename__ = "stats_releases"
    __table_args__ = (UniqueConstraint("period", "version"),)

    id: Mapped[intpk]
    period: Mapped[str] = mapped_column(String(7))  # 2020-07 or 2020-H2
    period_type: Mapped[PeriodType] = mapped_column(enum_column(PeriodType))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[created_at]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    threshold: Mapped[int] = mapped_column(Integer)
    rounding_base: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)

    cells: Mapped[list[StatsCell]] = relationship(
        back_populates="release", cascade="all, delete-orphan"
    )


class StatsCell(Base):
    """One published cell; ``value`` is None where suppressed, with the reason recorded."""

    __tablename__ = "stats_cells"
    __table_args__ = (Index("ix_stats_cells_release_region", "release_id", "region_code"),)

    id: Mapped[intpk]
    release_id: Mapped[int] = mapped_column(ForeignKey("stats_releases.id", ondelete="CASCADE"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))  # None: national
    measure: Mapped[str] = mapped_column(String(48))
    dimension: Mapped[str | None] = mapped_column(String(48))  # a state, reason, level...
    value: Mapped[float | None] = mapped_column()
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    suppression_reason: Mapped[str | None] = mapped_column(String(32))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    release: Mapped[StatsRelease] = relationship(back_populates="cells")
