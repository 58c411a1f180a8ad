"""The server hands work to the worker thread that went idle last."""

from __future__ import annotations

import queue
import threading

from gateway.serving.worker_order import LastIdleFirst
from tests.tools import HANG_SECONDS, wait_until


def test_the_last_thread_to_wait_is_woken_first():
    pending: queue.Queue = queue.Queue()
    pending.not_empty = LastIdleFirst(pending.mutex)
    served: list[str] = []

    def worker(name: str) -> None:
        served.append(f"{name}:{pending.get(timeout=HANG_SECONDS)}")

    threads = []
    for name in ("first", "second", "third"):
        thread = threading.Thread(target=worker, args=(name,))
        thread.start()
        threads.append(thread)
        wait_until(  # each waits before the next starts: they wait in this order
            lambda: len(pending.not_empty._waiters) == len(threads),
            message=f"{name} never waited",
        )
    for done, job in enumerate("abc", start=1):
        pending.put(job)
        wait_until(lambda done=done: len(served) == done, message=f"job {job} was never taken")
    for thread in threads:
        thread.join(HANG_SECONDS)
    assert served == ["third:a", "second:b", "first:c"]


def test_the_server_pool_uses_it(server):
    assert isinstance(server.server.requests._queue.not_empty, LastIdleFirst)
