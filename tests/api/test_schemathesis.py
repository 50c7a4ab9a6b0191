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
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
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
from mda.web.hardening import JSON_MAX_DEPTH
from tests.api.test_hardening import snapshot
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
        # A negative case may be negative in its headers alone (the bearer token left out or
        # mangled). Adding our valid token would undo that mutation and turn the case into a
        # valid request, which the API rightly accepts: send such a case as generated.
        meta = case.meta
        negative_headers = meta is not None and meta.is_negative_at(ParameterLocation.HEADER)
        case.call_and_validate(headers={} if negative_headers else headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid: an operation without parameters or body.
        if mode is GenerationMode.POSITIVE:
            raise
    return len(sent)


# --- beyond the document: huge integers and deep bodies ---------------------------------

# Integers no 64-bit column holds (an OverflowError in the driver), and bodies nested deeper
# than the parser allows (a RecursionError at about 1,000 levels): the document forbids them,
# so schemathesis' own generation rarely sends them. These strategies take a valid generated
# case and put them in: every integer path parameter, every integer in the body, the whole body.
HUGE_INTEGERS = st.sampled_from([2**63, 2**63 + 1, 2**70, 10**30, -(2**63) - 1])
DEPTHS = st.integers(min_value=JSON_MAX_DEPTH + 1, max_value=200)
EXPECTED = {"path": (404, 405), "deep": (400,), "integers": (422,)}


def _integer_path_parameters(operation) -> list[str]:
    return [
        parameter.name
        for parameter in operation.path_parameters
        if parameter.definition.get("schema", {}).get("type") == "integer"
    ]


def _with_integers(value, huge):
    """``value`` with every integer in it (not booleans) replaced by ``huge``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return huge
    if isinstance(value, dict):
        return {key: _with_integers(item, huge) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_integers(item, huge) for item in value]
    return value


def _nested(value, depth):
    for _ in range(depth):
        value = [value]
    return value


def test_api_refuses_huge_integers_and_deep_bodies(api_schema, app, session):
    users = app.config["SCHEMATHESIS_USERS"]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    before = snapshot(session)
    sent: dict[str, int] = {"path": 0, "deep": 0, "integers": 0}
    for operation in operations:
        variants = []
        if _integer_path_parameters(operation):
            variants.append("path")
        if list(operation.body):
            variants += ["deep", "integers"]
        if not variants:
            continue
        token = _token_for(operation, users, session)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        _run_extreme(operation, variants, headers, sent)
    print(f"schemathesis, out of range: {sent}")
    assert sent["path"] >= 8 and sent["deep"] >= 20 and sent["integers"] >= 1
    assert snapshot(session) == before


def _run_extreme(operation, variants, headers, sent) -> None:
    ints = _integer_path_parameters(operation)

    @given(
        case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        variant=st.sampled_from(variants),
        huge=HUGE_INTEGERS,
        depth=DEPTHS,
    )
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.generate],
    )
    def run(case, variant, huge, depth):
        if variant == "integers":
            changed = _with_integers(case.body, huge)
            if changed == case.body:  # nothing numeric in this body: nest it instead
                variant = "deep"
            else:
                case.body = changed
        if variant == "deep":
            case.body = _nested(case.body, depth)
        if variant == "path":
            for name in ints:
                case.path_parameters[name] = huge
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        assert response.status_code in EXPECTED[variant], (variant, case.path, response.text)
        assert response.headers["content-type"][0].startswith("application/problem+json")
        sent[variant] += 1

    run()
