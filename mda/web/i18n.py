"""Language: the user's choice in the session, else Dutch (the product's default); and labels.

English is the source language of the messages; the Dutch catalogue is in mda/translations.
"""

from __future__ import annotations

from flask import Flask, current_app, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from mda.vocabulary import AccessAction, Role

LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}

ROLE_LABELS = {
    Role.COORDINATOR: _l("coordinator"),
    Role.MANAGER: _l("regional manager"),
    Role.PROGRAMME: _l("programme team"),
    Role.ADMIN: _l("administrator"),
    Role.AUDITOR: _l("privacy officer"),
}

ACTION_LABELS = {
    AccessAction.READ: _l("read"),
    AccessAction.SEARCH: _l("search"),
    AccessAction.CREATE: _l("create"),
    AccessAction.CHANGE: _l("change"),
    AccessAction.EXPORT: _l("export"),
    AccessAction.DENIED: _l("denied"),
}


def select_locale() -> str | None:
    languages = current_app.config.get("LANGUAGES", ("nl", "en"))
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    # Dutch by default, whatever the browser prefers: the product's terms are Dutch, and a
    # browser set to English is common among professionals who still work in Dutch.
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "nl")


def role_label(role: Role | str | None) -> str:
    if role is None:
        return ""
    return str(ROLE_LABELS.get(Role(role), role))


def action_label(action: AccessAction | str) -> str:
    return str(ACTION_LABELS.get(AccessAction(action), action))


def init_app(app: Flask) -> None:
    @app.context_processor
    def labels() -> dict[str, object]:
        return {
            "get_locale": lambda: str(get_locale() or "nl"),
            "role_label": role_label,
            "action_label": action_label,
            "language_names": LANGUAGE_NAMES,
            "languages": app.config.get("LANGUAGES", ("nl", "en")),
        }
