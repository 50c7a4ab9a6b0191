"""schemathesis against the OpenAPI document: no 5xx, every response matches its schema.

Cases are generated from the document itself (valid and deliberately invalid input) and sent
to the WSGI app with a bearer token of a role that may use the operation, so the happy paths
are reached as well as the refusals. A few hundred cases per backend.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mda.reference import REGIONS
from mda.services import tokens as token_service
from mda.vocabulary import Role
from tests.support import factories

EXAMPLES = 8  # per operation and mode: ~24 operations x 2 modes x 8, a few hundred cases
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def api_schema(app, session):
    """The document as the app serves it, plus tokens per role and a trajectory to find."""
    every_region = [code for code, _name in REGIONS]
    users = {
        Role.COORDINATOR: factories.user(session, Role.COORDINATOR, every_region),
        Role.ADMIN: factories.user(session, Role.ADMIN),
        Role.PROGRAMME: factories.user(session, Role.PROGRAMME),
    }
    for n in range(3):
        factories.trajectory(session, users[Role.COORDINATOR], reference=f"SCHEMA-TEST-{n}")
    app.config["SCHEMATHESIS_USERS"] = users
    # Requests are sent to the app itself, in the test's transaction.
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _token_for(operation, users, session) -> str | None:
    """A fresh token of the role this operation is meant for (the token endpoint needs none)."""
    path = operation.path
    if path in ("/api/v1/tokens", "/api/v1/openapi.json", "/api/v1/docs"):
        return None
    if path.startswith("/api/v1/programme"):
        role = Role.PROGRAMME
    elif path.startswith("/api/v1/regions/"):
        role = Role.ADMIN
    else:
        role = Role.COORDINATOR
    text, _row = token_service.issue_token(session, users[role], timedelta(minutes=5))
    return text


def test_api_conforms_to_its_document(api_schema, app, session):
    # schemathesis' own pytest integration (from_fixture) does not run on pytest 9, so the
    # operations are driven here with its Python API: a strategy per operation and mode.
    users = app.config["SCHEMATHESIS_USERS"]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    cases = {"count": 0}
    for operation in operations:
        token = _token_for(operation, users, session)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            cases["count"] += _run(operation, mode, headers)
    print(f"schemathesis: {len(operations)} operations, {cases['count']} cases")
    assert cases["count"] >= 200


def _run(operation, mode, headers) -> int:
    """Send generated cases of one operation and mode; returns how many were sent."""
    sent = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case):
        sent.append(case)
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid: an operation without parameters or body.
        if mode is GenerationMode.POSITIVE:
            raise
    return len(sent)
