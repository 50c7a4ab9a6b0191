"""Regions (reference data), their MDA++ implementation status and half-yearly reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mda.models.base import Base, UTCDateTime, created_at, enum_column, intpk, utcnow
from mda.vocabulary import BlockStatus, MdaStatus


class Region(Base):
    """One of the 28 GHNT regions; ``code`` is a stable short code shipped with the product."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    mda_status: Mapped[MdaStatus] = mapped_column(
        enum_column(MdaStatus), default=MdaStatus.NONE, nullable=False
    )
    # Optimistic locking for the implementation status machine.
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    building_blocks: Mapped[list[RegionBuildingBlock]] = relationship(
        back_populates="region", order_by="RegionBuildingBlock.block", cascade="all, delete-orphan"
    )
    reports: Mapped[list[HalfYearReport]] = relationship(
        back_populates="region", order_by="HalfYearReport.period"
    )

    # Set by the services: one increment per accepted change, also when only blocks change.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class RegionBuildingBlock(Base):
    """Progress of one MDA++ building block (1-5) in a region."""

    __tablename__ = "region_building_blocks"

    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    block: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[BlockStatus] = mapped_column(
        enum_column(BlockStatus), default=BlockStatus.NOT_STARTED, nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    region: Mapped[Region] = relationship(back_populates="building_blocks")


class RegionStatusChange(Base):
    """Append-only history of a region's implementation status and building blocks."""

    __tablename__ = "region_status_changes"

    id: Mapped[intpk]
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    at: Mapped[created_at]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    what: Mapped[str] = mapped_column(String(32))  # "status" or "block:N"
    from_value: Mapped[str] = mapped_column(String(32))
    to_value: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)


class HalfYearReport(Base):
    """A region's half-yearly report to the programme (period like ``2020-H2``)."""

    __tablename__ = "half_year_reports"
    __table_args__ = (UniqueConstraint("region_code", "period"),)

    id: Mapped[intpk]
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    period: Mapped[str] = mapped_column(String(7), index=True)
    mda_status: Mapped[MdaStatus] = mapped_column(enum_column(MdaStatus), nullable=False)
    vision_in_regional_plan: Mapped[bool] = mapped_column(Boolean, default=False)
    professionals_trained: Mapped[bool] = mapped_column(Boolean, default=False)
    working_by_vision: Mapped[bool] = mapped_column(Boolean, default=False)
    vision_in_procurement: Mapped[bool] = mapped_column(Boolean, default=False)
    local_teams_quality_framework_steps: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Optimistic locking, as for the region: the ETag of the report; 1 when first written.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1", nullable=False)

    region: Mapped[Region] = relationship(back_populates="reports")

    # Set by the services: one increment per accepted change.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class HalfYearReportVersion(Base):
    """Every saved version of a half-yearly report, as it was saved: a correction never
    erases what was reported before. Append-only, enforced by the database."""

    __tablename__ = "half_year_report_versions"
    __table_args__ = (UniqueConstraint("report_id", "version"),)

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("half_year_reports.id"))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    version: Mapped[int] = mapped_column(Integer)
    mda_status: Mapped[MdaStatus] = mapped_column(enum_column(MdaStatus), nullable=False)
    vision_in_regional_plan: Mapped[bool] = mapped_column(Boolean)
    professionals_trained: Mapped[bool] = mapped_column(Boolean)
    working_by_vision: Mapped[bool] = mapped_column(Boolean)
    vision_in_procurement: Mapped[bool] = mapped_column(Boolean)
    local_teams_quality_framework_steps: Mapped[bool] = mapped_column(Boolean)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
