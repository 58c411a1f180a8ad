"""The server hands work to the worker thread that went idle last."""

from __future__ import annotations

import queue
import threading
import time

from gateway.worker_order import LastIdleFirst


def test_the_last_thread_to_wait_is_woken_first():
    pending: queue.Queue = queue.Queue()
    pending.not_empty = LastIdleFirst(pending.mutex)
    served: list[str] = []

    def worker(name: str) -> None:
        served.append(f"{name}:{pending.get(timeout=10)}")

    threads = []
    for name in ("first", "second", "third"):
        thread = threading.Thread(target=worker, args=(name,))
        thread.start()
        threads.append(thread)
        while len(pending.not_empty._waiters) < len(threads):  # waiting, in this order
            time.sleep(0.001)
    for job in ("a", "b", "c"):
        pending.put(job)
        while len(served) < "abc".index(job) + 1:
            time.sleep(0.001)
    for thread in threads:
        thread.join(10)
    assert served == ["third:a", "second:b", "first:c"]


def test_the_server_pool_uses_it(server):
    assert isinstance(server.server.requests._queue.not_empty, LastIdleFirst)
