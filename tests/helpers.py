"""Helpers that tests of several areas share: reading pages, and running jobs at the same moment."""

from __future__ import annotations

import re
import threading

import sqlalchemy as sa

from app.extensions import db


def get_counting_queries(client, url: str):
    """(the response, how many SQL statements answering `url` ran), the body read while counting: a streamed
    export runs its queries as it is read."""
    statements = []

    def seen(*args, **kwargs):
        statements.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        response = client.get(url)
        response.get_data()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    return response, len(statements)


def count_queries(client, url: str) -> int:
    """How many SQL statements answering `url` runs (the page must answer 200)."""
    response, count = get_counting_queries(client, url)
    assert response.status_code == 200
    return count


def visible_text(html: str) -> str:
    """What a reader sees: the page without its tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def at_once(app, jobs, refused: tuple[type[BaseException], ...] = ()) -> list[str]:
    """Run each job in a thread, app context and transaction of its own, all released at the same moment.

    A job prepares in its own session (loads what it needs) and returns the action to run; the actions start
    together and each one's transaction is committed. Returns how each ended, in the jobs' order: "done",
    "refused: <message>" for one of the `refused` exceptions, "error: <repr>" for anything else (both rolled
    back). A job still running after a minute fails the test: a deadlock.
    """
    barrier = threading.Barrier(len(jobs))
    outcomes = ["error: did not end"] * len(jobs)

    def run(index: int, job) -> None:
        with app.app_context():
            try:
                action = job()
                barrier.wait()
                action()
                db.session.commit()
                outcomes[index] = "done"
            except refused as refusal:
                db.session.rollback()
                outcomes[index] = f"refused: {refusal}"
            except BaseException as error:  # noqa: BLE001 - reported by the calling test
                barrier.abort()  # the others do not wait for a job that failed to prepare
                db.session.rollback()
                outcomes[index] = f"error: {error!r}"
            finally:
                db.session.remove()

    workers = [threading.Thread(target=run, args=pair) for pair in enumerate(jobs)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers), "a job is still waiting: deadlock"
    return outcomes


def all_at_once(app, *actions) -> list[str]:
    """at_once() for actions that need no preparation: each runs as soon as all are started."""
    return at_once(app, [lambda action=action: action for action in actions])
