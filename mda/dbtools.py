"""Database upgrades (Alembic) and reference data loading, used by the CLI and start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> AlembicConfig:
    """An Alembic config pointing at the packaged migrations (works from an installed wheel)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def heads() -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade_connection(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection=connection), revision)


def upgrade_database(app: Flask, revision: str = "head") -> None:
    """Bring the app's database to ``revision`` and make sure the reference data is there."""
    from mda.extensions import db

    engine = db.state(app).engine
    with engine.begin() as connection:
        upgrade_connection(connection, revision)
    with Session(engine) as session:
        load_reference_data(session)
        session.commit()


def load_reference_data(session: Session) -> None:
    """Insert the 28 regions, their building blocks and the default deadline rules; idempotent.

    Existing rows are left as they are: names may be corrected and rules tuned by an admin.
    """
    from mda.models import DeadlineRule, Region, RegionBuildingBlock
    from mda.reference import BUILDING_BLOCKS, DEFAULT_DEADLINE_RULES, REGIONS

    known = set(session.scalars(select(Region.code)))
    for code, name in REGIONS:
        if code not in known:
            region = Region(code=code, name=name)
            region.building_blocks = [RegionBuildingBlock(block=b) for b in BUILDING_BLOCKS]
            session.add(region)
    rules = set(session.scalars(select(DeadlineRule.kind)))
    for kind, (amount, unit, recurring) in DEFAULT_DEADLINE_RULES.items():
        if kind not in rules:
            session.add(DeadlineRule(kind=kind, amount=amount, unit=unit, recurring=recurring))
    session.flush()
