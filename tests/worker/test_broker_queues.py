"""The embedded broker (kombu's SQLAlchemy transport on SQLite) shared by processes starting
together: its tables and queue rows are made on first use under a thread lock only, so
without the declaration ``mda run`` makes before its children start, they race ("table
kombu_queue already exists", "UNIQUE constraint failed: kombu_queue.name")."""

from __future__ import annotations

import multiprocessing
import sqlite3
import traceback

import pytest
from celery import Celery
from kombu import Producer

from worker import declare_broker_queues

PROCESSES = 4
ROUNDS = 3


def _celery(url: str) -> Celery:
    # The transport options the app uses for SQLite (see worker.celery_init_app).
    return Celery(
        "race",
        broker=url,
        broker_transport_options={"connect_args": {"timeout": 30}},
        set_as_current=False,
    )


def _first_use(url: str, barrier, results) -> None:
    try:
        celery_app = _celery(url)
        queue = celery_app.amqp.queues[celery_app.conf.task_default_queue]
        connection = celery_app.connection_for_write()
        channel = connection.channel()  # no database access yet: kombu opens it lazily
        producer = Producer(channel)
        barrier.wait(timeout=30)  # then all first uses at once
        try:
            # What beat and the web server do first: publish a task, declaring its queue.
            producer.publish(
                {"task": "mda.ping"},
                exchange=queue.exchange,
                routing_key=queue.routing_key,
                declare=[queue],
            )
            # What the worker does first: declare the queue it consumes.
            queue.bind(channel).declare()
        finally:
            connection.release()
        results.put(None)
    except BaseException:
        results.put(traceback.format_exc())


def _declare(url: str, results) -> None:
    try:
        results.put(declare_broker_queues(_celery(url)))
    except BaseException:
        results.put(traceback.format_exc())


def _in_another_process(target, *args):
    """As ``mda run`` does it: in the supervising process, never in the children's."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    process = context.Process(target=target, args=(*args, results))
    process.start()
    try:
        return results.get(timeout=90)
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()


def _start_together(url: str) -> list[str]:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=_first_use, args=(url, barrier, results)) for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=90) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
    return [outcome for outcome in outcomes if outcome]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_processes_starting_together_on_a_declared_broker_do_not_race(tmp_path, round_):
    path = tmp_path / "broker.sqlite"
    url = f"sqla+sqlite:///{path}"
    assert _in_another_process(_declare, url) == ["celery"]
    with sqlite3.connect(path) as broker:
        assert broker.execute("SELECT name FROM kombu_queue").fetchall() == [("celery",)]

    errors = _start_together(url)
    assert errors == [], "\n".join(errors)
    with sqlite3.connect(path) as broker:
        assert broker.execute("SELECT name FROM kombu_queue").fetchall() == [("celery",)]
        assert broker.execute("SELECT count(*) FROM kombu_message").fetchone() == (PROCESSES,)


def test_other_brokers_need_no_declaration():
    assert declare_broker_queues(Celery("x", broker="memory://", set_as_current=False)) == []
