"""Sign-in under real concurrency (real commits, one thread per request, both backends).

A TOTP code sent by two requests at the same moment is accepted once; two failed sign-ins at
the same moment cannot both use the last attempt the throttle leaves.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pyotp
import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from mda.extensions import make_engine
from mda.models import LoginAttempt, User
from mda.services import auth
from mda.services.settings import ThrottleLimits
from tests.conftest import BACKENDS, fresh_postgres_database, migrate
from tests.support import factories

ROUNDS = 10
# How long the first contender waits for the second inside the throttle check: the second
# gets there only if the check does not make it wait its turn (the bug).
RENDEZVOUS_SECONDS = 0.5


@pytest.fixture(params=BACKENDS)
def committed_engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Engine]:
    """A migrated database of its own whose commits are real (not the tests' savepoints)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'race.sqlite'}")
    else:
        server = request.getfixturevalue("postgres_server")
        engine = fresh_postgres_database(server, f"mda_auth_race_{os.getpid()}")
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()


def run_together(*jobs: Callable[[], object]) -> list[object]:
    """Run each job in a thread of its own; their results (or exceptions), in order."""
    results: list[object] = [None] * len(jobs)

    def run(index: int) -> None:
        try:
            results[index] = jobs[index]()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a contender hung"
    return results


def test_a_totp_code_sent_twice_at_once_is_accepted_once(committed_engine):
    with Session(committed_engine, expire_on_commit=False) as session:
        user = factories.user(session)
        secret = pyotp.random_base32()
        user.totp_secret = secret
        user.totp_enabled = True
        session.commit()
        user_id = user.id
    otp = pyotp.TOTP(secret)

    for round_number in range(ROUNDS):
        with Session(committed_engine) as session:
            session.execute(update(User).where(User.id == user_id).values(totp_last_counter=None))
            session.commit()
        code = otp.now()
        barrier = threading.Barrier(2)

        def contender(addr: str, code: str = code, barrier: threading.Barrier = barrier) -> bool:
            # As a request does: the user is loaded first (the sign-in page's pending user),
            # then the code is checked; the other request may commit in between.
            with Session(committed_engine, expire_on_commit=False) as own:
                user = own.get(User, user_id)
                assert user is not None and user.totp_last_counter is None
                barrier.wait()
                return auth.verify_second_factor(own, user, code, addr)

        first, second = f"192.0.2.{round_number}", f"198.51.100.{round_number}"
        results = run_together(lambda a=first: contender(a), lambda a=second: contender(a))
        assert sorted(map(repr, results)) == ["False", "True"], (round_number, results)


@pytest.mark.parametrize(
    ("scope", "step"), [("account", "password"), ("address", "password"), ("account", "code")]
)
def test_two_attempts_at_once_cannot_both_use_the_last_one_left(
    committed_engine, monkeypatch, scope, step
):
    limits = ThrottleLimits()  # the defaults: a plain session has no other settings
    limit = limits.per_account if scope == "account" else limits.per_address
    with Session(committed_engine) as session:
        user = factories.user(session)
        username, user_id = user.username, user.id
        secret = user.totp_secret = pyotp.random_base32()
        user.totp_enabled = True
        for i in range(limit - 1):
            name = username if scope == "account" else f"guess{i}"
            addr = f"203.0.113.{i}" if scope == "account" else "192.0.2.77"
            session.add(LoginAttempt(username=name, remote_addr=addr, succeeded=False))
        session.commit()
    current = pyotp.TOTP(secret).now()
    wrong_code = f"{(int(current) + 500_000) % 1_000_000:06d}"

    # The first contender to pass the check waits there for the other; if the check does not
    # hold the other back (check and record in one transaction, one at a time), both pass.
    barrier = threading.Barrier(2)
    checked = auth.check_throttle

    def check_then_meet(*args: Any, **kwargs: Any) -> None:
        checked(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=RENDEZVOUS_SECONDS)

    monkeypatch.setattr(auth, "check_throttle", check_then_meet)

    def contender(index: int) -> object:
        name = username if scope == "account" else f"other{index}"
        addr = f"198.51.100.{index}" if scope == "account" else "192.0.2.77"
        with Session(committed_engine) as own:
            if step == "code":
                return auth.verify_second_factor(own, own.get(User, user_id), wrong_code, addr)
            return auth.authenticate(own, name, "wrong password!!", addr)

    results = run_together(lambda: contender(1), lambda: contender(2))

    refused = [r for r in results if isinstance(r, auth.ThrottledError)]
    assert len(refused) == 1 and refused[0].scope == scope, results
    assert [r for r in results if r is not refused[0]] == [None if step == "password" else False]
    with Session(committed_engine) as session:
        column = LoginAttempt.username if scope == "account" else LoginAttempt.remote_addr
        value = username if scope == "account" else "192.0.2.77"
        failures = session.scalar(
            select(func.count(LoginAttempt.id)).where(column == value, ~LoginAttempt.succeeded)
        )
    assert failures == limit
