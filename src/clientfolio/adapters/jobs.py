"""Durable background jobs on huey: SQLite storage in the data home by default, Redis when configured.

The database stays the source of truth: a job only says "look at version N". Should a worker die
mid-job (huey has no acknowledgements), the version is still `pending` in the database and the
worker's sweep enqueues it again, so a crash or a restart loses no work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey

JOB_NAME = "clientfolio.job"


class JobQueue:
    def __init__(self, *, home: Path, redis_url: str | None = None, name: str = "clientfolio",
                 handler: Callable[[str, dict], None] | None = None, retries: int = 2, retry_delay: int = 5):
        # `name` keeps the queues of vaults that share one Redis apart.
        if redis_url:
            self.huey: Huey = RedisHuey(name, url=redis_url, results=False)
        else:
            self.huey = SqliteHuey(name, filename=str(home / "jobs.db"), results=False)
        self._handler = handler
        self._task = self.huey.task(retries=retries, retry_delay=retry_delay, name=JOB_NAME)(self._run)
        self.huey.periodic_task(crontab(minute="*"), name="clientfolio.tick")(self._tick)

    def _tick(self) -> None:
        self._run("tick", {})

    def set_handler(self, handler: Callable[[str, dict], None]) -> None:
        self._handler = handler

    def _run(self, kind: str, args: dict) -> None:
        if self._handler is None:
            raise RuntimeError("no job handler: this process only enqueues")
        self._handler(kind, args)

    def enqueue(self, kind: str, **args) -> None:
        """Only ids and flags go in a job: never text or secrets (the queue is not encrypted)."""
        self._task(kind, args)

    def pending(self) -> int:
        return self.huey.pending_count()

    def consumer(self, *, workers: int = 1, worker_type: str = "thread"):
        return self.huey.create_consumer(workers=workers, worker_type=worker_type, periodic=True,
                                         initial_delay=0.1, max_delay=2.0, check_worker_health=True)

    def drain(self) -> int:
        """Run every queued job in this process now (tests, `worker --once`); returns how many ran.
        A failing job is left to huey's retry schedule; its traceback is not printed (the handler records
        failures where users see them)."""
        ran = 0
        quiet = logging.getLogger("huey")
        level, quiet.level = quiet.level, logging.CRITICAL
        try:
            while (task := self.huey.dequeue()) is not None:
                try:
                    self.huey.execute(task)
                except Exception:  # noqa: BLE001 - re-queued for retry, or recorded as failed by the handler
                    pass
                ran += 1
        finally:
            quiet.level = level
        return ran

    def flush(self) -> None:
        """Drop every queued job (tests; the database sweep brings back what still matters)."""
        self.huey.flush()
