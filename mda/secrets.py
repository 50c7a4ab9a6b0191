"""Secrets for the embedded default: generated once, kept in files in the instance folder.

They never go into the database: the pseudonym key in particular must live apart from the data
it protects, so that a copy of the database alone cannot be re-identified.
"""

from __future__ import annotations

import os
import secrets
import stat
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


def secure_instance_folder(instance_path: str | os.PathLike[str]) -> Path:
    """Make the instance folder, or tighten an existing one: owner-only, 0700 and 0600.

    It holds the database (password hashes, TOTP secrets), the broker, and the generated
    secrets. Files made before this rule (0644 from an older version) lose their group and
    other bits; nothing else in them changes.
    """
    folder = Path(instance_path)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(folder.stat().st_mode) != 0o700:
        folder.chmod(0o700)
    uid = os.getuid()
    for entry in folder.iterdir():
        try:
            info = entry.lstat()
        except FileNotFoundError:  # a SQLite journal that just went away
            continue
        if stat.S_ISREG(info.st_mode) and info.st_uid == uid and info.st_mode & 0o077:
            entry.chmod(stat.S_IMODE(info.st_mode) & 0o700)
    return folder


def _private_file(path: Path) -> None:
    """Create an empty file readable by its owner only, unless it exists.

    SQLite takes an empty file as a new database and gives its WAL, SHM and journal files the
    database file's own permissions, so creating the database this way keeps all of them 0600
    whatever the process umask is.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def fill_embedded_defaults(config: dict[str, Any], instance_path: str) -> None:
    """Fill in what the embedded default can provide itself, leaving explicit settings alone."""
    folder = secure_instance_folder(instance_path)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _read_or_create(folder / "secret_key")
    if not config.get("PSEUDONYM_KEY"):
        config["PSEUDONYM_KEY"] = _read_or_create(folder / "pseudonym_key")
    if not config.get("DATABASE_URL"):
        _private_file(folder / "mda.sqlite")
        config["DATABASE_URL"] = f"sqlite:///{folder / 'mda.sqlite'}"
    if not config.get("BROKER_URL"):
        _private_file(folder / "broker.sqlite")
        config["BROKER_URL"] = f"sqla+sqlite:///{folder / 'broker.sqlite'}"
    if not config.get("RESULT_BACKEND"):
        _private_file(folder / "results.sqlite")
        config["RESULT_BACKEND"] = f"db+sqlite:///{folder / 'results.sqlite'}"
