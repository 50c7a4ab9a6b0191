"""Secrets for the embedded default: generated once, kept in files in the instance folder.

They never go into the database: the pseudonym key in particular must live apart from the data
it protects, so that a copy of the database alone cannot be re-identified.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


def _read_or_create(path: Path) -> str:
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = secrets.token_urlsafe(48)
    # Create with owner-only permissions from the start, never world-readable for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value


def fill_embedded_defaults(config: dict[str, Any], instance_path: str) -> None:
    """Fill in what the embedded default can provide itself, leaving explicit settings alone."""
    folder = Path(instance_path)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _read_or_create(folder / "secret_key")
    if not config.get("PSEUDONYM_KEY"):
        config["PSEUDONYM_KEY"] = _read_or_create(folder / "pseudonym_key")
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{folder / 'mda.sqlite'}"
    if not config.get("BROKER_URL"):
        config["BROKER_URL"] = f"sqla+sqlite:///{folder / 'broker.sqlite'}"
    if not config.get("RESULT_BACKEND"):
        config["RESULT_BACKEND"] = f"db+sqlite:///{folder / 'results.sqlite'}"
