"""Text that cannot be stored is refused with a clear message, at every entrance."""

import pytest

from mda.models import LoginAttempt, Organisation
from mda.services import admin
from mda.services.auth import authenticate
from mda.services.errors import ValidationError
from mda.services.identifiers import check_free_text
from mda.services.pseudonyms import normalise
from mda.services.text import require_clean_text, sanitise, text_problem
from mda.vocabulary import Role
from tests.support import factories


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a\x00b", "control character (U+0000)"),
        ("bell\x07", "control character (U+0007)"),
        ("del\x7f", "control character (U+007F)"),
        ("half \ud83d pair", "lone surrogate"),
    ],
)
def test_unstorable_text_is_named(value, problem):
    assert problem in text_problem(value)
    assert text_problem(sanitise(value)) is None


@pytest.mark.parametrize("value", ["Gezin wacht op opname\tbij GGZ\r\n", "Één café, ŝ €", "🙂"])
def test_ordinary_text_passes(value):
    assert text_problem(value) is None
    require_clean_text({"note": value})


def test_every_bad_field_is_named():
    with pytest.raises(ValidationError) as info:
        require_clean_text({"reason": "ok", "details": "x\x00", "referred_back_to": "\ud800"})
    assert set(info.value.details) == {"details", "referred_back_to"}
    assert "details contains a control character" in info.value.message


def test_free_text_guard_and_references_refuse_it():
    with pytest.raises(ValidationError, match="reason contains a control character"):
        check_free_text({"reason": "nee\x00"})
    with pytest.raises(ValidationError, match="reference contains invalid Unicode"):
        normalise("VT-\udc00-1234")


def test_sign_in_with_an_unstorable_username_fails_without_a_server_error(session):
    assert authenticate(session, "admin\x00", "whatever password", "192.0.2.1") is None
    recorded = session.query(LoginAttempt).one()
    assert recorded.username == "admin\ufffd" and not recorded.succeeded


def test_organisation_name_is_checked(session):
    admin_user = factories.user(session, Role.ADMIN)
    with pytest.raises(ValidationError, match="name contains a control character"):
        admin.save_organisation(session, factories.actor(admin_user), "Veilig\x00Thuis")
    with pytest.raises(ValidationError, match="kind contains a control character"):
        admin.save_organisation(session, factories.actor(admin_user), "Veilig Thuis", "vt\x1b")
    assert session.query(Organisation).count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "a\x00b"), ("trajectory_id", "²"), ("trajectory_id", "99999999999")],
)
def test_access_log_filter_refuses_unusable_values(field, value):
    from mda.services.audit_query import AccessLogFilter

    with pytest.raises(ValidationError) as info:
        AccessLogFilter.parse(**{field: value})
    assert field in info.value.details
