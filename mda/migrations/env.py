"""Alembic environment: runs on a connection handed over by mda, or on a URL.

The URL comes from, in order: a connection in ``config.attributes``, ``sqlalchemy.url`` in the
Alembic config, ``MDA_DATABASE_URL``, or the app's own settings (``create_app``).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from mda.models import Base

config = context.config
target_metadata = Base.metadata


def _render_item(type_, obj, autogen_context):
    """Write mda's own column types by their import path in generated migrations."""
    if type_ == "type" and obj.__class__.__module__.startswith("mda."):
        autogen_context.imports.add("import mda.models.base")
        return f"mda.models.base.{obj.__class__.__name__}()"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    from mda.extensions import make_engine

    url = config.get_main_option("sqlalchemy.url") or os.environ.get("MDA_DATABASE_URL")
    if not url:
        from mda import create_app

        url = create_app({"AUTO_UPGRADE": False}).config["DATABASE_URL"]
    engine = make_engine(url)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("mda's migrations run online only: give a database URL")
run_migrations_online()
