"""Web-side protections: security headers, idle time-out and absolute session lifetime, the
forced steps after sign-in (password change, second-factor enrolment) and the acting user for
service calls.

Authorisation itself lives in the services (:mod:`mda.services.authz`); ``role_required`` only
lets a page that calls no service refuse early with the same rule and the same 403.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext as _
from flask_babel import refresh as babel_refresh
from flask_login import current_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from mda.services.authz import require_role
from mda.services.context import Actor
from mda.vocabulary import Role

F = TypeVar("F", bound=Callable[..., Any])

# No inline script or style anywhere: every asset is a file in mda/static.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

LAST_SEEN = "last_seen"
# When the session signed in (Unix seconds); set once at sign-in, never moved by a request.
SIGNED_IN_AT = "signed_in_at"
# Endpoints reachable while a forced step (password change, enrolment) is outstanding.
ALWAYS_ALLOWED = frozenset({"static", "auth.logout", "main.language", "main.healthz"})


def current_actor() -> Actor:
    """The signed-in user as the services' :class:`Actor`, with the request's address."""
    return Actor.from_user(current_user, channel="web", remote_addr=request.remote_addr)


def role_required(*roles: Role) -> Callable[[F], F]:
    """Refuse a page to other roles with the services' own rule (a 403 page)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            require_role(current_actor(), *roles)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def clock() -> float:
    """Now, in Unix seconds (a function of its own so that tests can move time)."""
    return time.time()


def start_session(lang: str | None = None) -> None:
    """A fresh session at sign-in: nothing from before survives but the language."""
    session.clear()
    if lang:
        session["lang"] = lang
    session.permanent = True
    now = int(clock())
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN] = now


def end_session() -> None:
    """Forget the signed-in user in this browser; only the chosen language survives."""
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang


class AbsoluteLifetimeSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, whose expiry does not slide past the sign-in's absolute end.

    Flask renews a permanent session's cookie for ``PERMANENT_SESSION_LIFETIME`` at every
    request; a signed-in session's cookie expires at most that long after the sign-in. The
    server does not rely on the browser for that: :func:`_session_limits` checks it too.
    """

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> datetime | None:
        expires = super().get_expiration_time(app, session)
        started = session.get(SIGNED_IN_AT)
        if expires is not None and isinstance(started, int):
            end = datetime.fromtimestamp(started, UTC) + app.permanent_session_lifetime
            expires = min(expires, end)
        return expires


def _fresh_request_state() -> None:
    # Flask reuses an app context that is already pushed (tests, scripts), and Flask-Login and
    # Flask-Babel cache the user and the locale in it: take both from this request's session,
    # never from a previous request.
    g.pop("_login_user", None)
    babel_refresh()


def _session_limits() -> Response | None:
    """Sign out a session past its idle time-out or past its absolute lifetime.

    The absolute lifetime (``PERMANENT_SESSION_LIFETIME``) counts from the sign-in time the
    signed session stores; no request moves it, so a session (or a copied cookie) ends at the
    latest that long after its sign-in. A session without a sign-in time has ended.
    """
    now = int(clock())
    idle = int(current_app.config.get("IDLE_TIMEOUT_MINUTES", 30)) * 60
    lifetime = int(current_app.permanent_session_lifetime.total_seconds())
    signed_in_at = session.get(SIGNED_IN_AT)
    last_seen = session.get(LAST_SEEN)
    if not isinstance(signed_in_at, int) or now - signed_in_at > lifetime:
        end_session()
        flash(_("Your session has ended. Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    if not isinstance(last_seen, int) or now - last_seen > idle:
        end_session()
        flash(_("You were signed out after a period of inactivity. Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    session[LAST_SEEN] = now
    return None


def _idle_and_forced_steps() -> Response | None:
    if request.endpoint == "static" or request.path.startswith("/api/"):
        return None
    if not current_user.is_authenticated:
        return None
    ended = _session_limits()
    if ended is not None:
        return ended
    endpoint = request.endpoint or ""
    if endpoint in ALWAYS_ALLOWED:
        return None
    if current_user.must_change_password and endpoint != "account.password":
        return redirect(url_for("account.password"))
    if (
        current_app.config.get("REQUIRE_SECOND_FACTOR")
        and not current_user.must_change_password
        and not current_user.totp_enabled
        and endpoint != "account.second_factor"
    ):
        return redirect(url_for("account.second_factor"))
    return None


def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if getattr(g, "no_store", False) or (
        request.endpoint != "static" and current_user.is_authenticated
    ):
        # Pages of a signed-in user are not kept by the browser or a proxy.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def no_store() -> None:
    """Mark this response as never to be cached (a page showing a one-time secret)."""
    g.no_store = True


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # Behind gunicorn's reverse proxy the peer is the proxy: take the client's address from
        # X-Forwarded-For (as many hops as there are trusted proxies), or every user would share
        # one address and one sign-in throttle.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    app.session_interface = AbsoluteLifetimeSessionInterface()
    app.before_request(_fresh_request_state)
    app.before_request(_idle_and_forced_steps)
    app.after_request(_headers)
