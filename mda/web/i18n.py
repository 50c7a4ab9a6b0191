"""Language selection: the user's choice in the session, else the browser's, else Dutch."""

from __future__ import annotations

from flask import current_app, request, session


def select_locale() -> str | None:
    languages = current_app.config.get("LANGUAGES", ("nl", "en"))
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config.get(
        "BABEL_DEFAULT_LOCALE", "nl"
    )
