"""Error pages in the product's style, and domain exceptions mapped to HTTP statuses."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from mda.services.errors import DomainError


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return render_template(
            "error.html", code=exc.code, title=exc.name, message=exc.description
        ), exc.code

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return render_template(
            "error.html", code=exc.status, title=exc.title, message=exc.message
        ), exc.status
