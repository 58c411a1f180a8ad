"""``serve --workers N``: one parent process binds the listening socket, forks N
worker processes that each serve on it, and supervises them (README, "Several
cores").

Why one inherited socket and not ``SO_REUSEPORT`` per worker: the port is bound
once, by the parent, so every check ``serve`` makes (port in use, cannot listen)
stays one clear line before any worker exists; a worker that dies leaves nothing
behind in a backlog of its own (with ``SO_REUSEPORT`` the connections the kernel had
already queued on its socket are reset); and a busy worker simply wins fewer
``accept`` races, where ``SO_REUSEPORT`` hashes each connection to a socket whatever
the load behind it. A few keep-alive connections (a file manager opens two to
four) are then not pinned by a hash to the same core. The price: every idle worker
wakes for a new connection and all but one find nothing to accept, which costs a
system call each (their accept does not wait: ``gateway.server.GatewayServer``).

The parent starts no thread and opens no database connection before it forks, so
each worker starts as clean as a fresh process; a worker that dies is forked again
from the same parent (after a pause that grows while it keeps dying at start);
SIGTERM or SIGINT to the parent stops every worker gracefully, and a worker whose
parent died (even by SIGKILL) is stopped by the kernel (``PR_SET_PDEATHSIG``).
This module knows nothing of what a worker serves: ``gateway.server`` gives it the
function that runs one.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable

from cheroot import wsgi

from gateway.errors import SetupError
from gateway.services.listening import cannot_listen

log = logging.getLogger("immoshare")

#: How long the first workers may take to listen before ``serve`` gives up.
START_SECONDS = 120.0
#: How long the workers get to finish their requests and store their tracking
#: events after SIGTERM, before they are killed.
STOP_SECONDS = 30.0
#: A worker that dies before it listens died "at start": the pause before the next
#: try doubles, and after :data:`START_FAILURES` in a row ``serve`` stops with its
#: error instead of forking it forever. A worker that listened is replaced at once.
START_FAILURES = 5
MAX_PAUSE_SECONDS = 30.0

_PR_SET_PDEATHSIG = 1


def bind_listener(host: str, port: int, *, request_queue_size: int = 256) -> socket.socket:
    """The listening socket, made the way cheroot makes its own (address reuse,
    ``TCP_NODELAY``, dual-stack for ``::``).

    :raises SetupError: the port is in use or the address cannot be had.
    """
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )[0]
        sock = wsgi.Server.prepare_socket(address, family, kind, proto, True, None)
        try:
            sock.bind(address)
            sock.listen(request_queue_size)
        except BaseException:
            sock.close()
            raise
    except OSError as exc:
        raise cannot_listen(host, port, exc) from None
    os.set_inheritable(sock.fileno(), True)
    return sock


class _Worker:
    """One forked worker as the parent sees it."""

    def __init__(self, index: int, pid: int, ready_fd: int):
        self.index = index
        self.pid = pid
        self.ready_fd = ready_fd  # the read end of its "listening" pipe, until read
        self.started = time.monotonic()
        self.status = 0  # as os.waitpid gives it, once it ended
        self.listening = False


class Supervisor:
    """Forks ``count`` workers, each running ``run_worker(index, announce)`` (which
    must call ``announce()`` once it listens and return when it has stopped), and keeps
    them running until SIGTERM or SIGINT."""

    def __init__(self, count: int, run_worker: Callable[[int, Callable[[], None]], None]):
        if count < 1:
            raise ValueError("at least one worker")
        self.count = count
        self.run_worker = run_worker
        self._workers: dict[int, _Worker] = {}  # by pid
        self._failures = dict.fromkeys(range(count), 0)  # deaths at start, in a row
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)

    def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Start the workers, call ``on_ready()`` once all listen, supervise until a
        signal, then stop them all.

        :raises SetupError: a worker could not start (its reason), or keeps dying at start.
        """
        if threading.active_count() > 1:
            log.warning("forking workers while %d threads run", threading.active_count())
        signals = (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in signals}
        try:
            for index in range(self.count):
                self._fork(index)
            self._await_listening()
            if on_ready is not None and not self._stopping:
                on_ready()
            while not self._stopping:
                self._hear_reports(self._wait(1.0, self._pending_reports()))
                self._reap()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(self._wake_r)
            os.close(self._wake_w)

    # -- the parent ---------------------------------------------------------------------

    def _on_signal(self, signum, frame) -> None:
        if signum != signal.SIGCHLD:
            self._stopping = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"!")

    def _wait(self, seconds: float, fds: tuple[int, ...] = ()) -> list[int]:
        readable, _, _ = select.select([self._wake_r, *fds], [], [], seconds)
        if self._wake_r in readable:
            with contextlib.suppress(OSError):
                os.read(self._wake_r, 512)
        return [fd for fd in readable if fd != self._wake_r]

    def _fork(self, index: int) -> None:
        ready_r, ready_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the parent's code
            os.close(ready_r)
            self._become_worker(index, ready_w)
        os.close(ready_w)
        self._workers[pid] = _Worker(index, pid, ready_r)

    def _pending_reports(self) -> tuple[int, ...]:
        return tuple(w.ready_fd for w in self._workers.values() if w.ready_fd >= 0)

    def _hear_reports(self, readable: list[int]) -> None:
        """Read what restarted workers report: listening, or why they cannot."""
        for worker in list(self._workers.values()):
            if worker.ready_fd in readable:
                self._hear(worker)

    def _hear(self, worker: _Worker, *, starting: bool = False) -> None:
        """Read the report of ``worker``: it listens, or why it cannot start (fatal
        while ``serve`` starts, logged later on). Nothing: it died without a word.

        :raises SetupError: the worker cannot start and ``starting`` is true.
        """
        message = _read_report(worker.ready_fd)
        os.close(worker.ready_fd)
        worker.ready_fd = -1
        if message == "ready":
            worker.listening = True
            self._failures[worker.index] = 0
        elif message and starting:
            raise SetupError(message)
        elif message:
            log.error("worker %d cannot start: %s", worker.index, message)

    def _await_listening(self) -> None:
        """Wait until every worker listens. A worker that reports why it cannot start
        fails the start with that reason; one that dies without a word (killed) is
        replaced as later on."""
        deadline = time.monotonic() + START_SECONDS
        while not self._stopping:
            pending = [w for w in self._workers.values() if not w.listening]
            if not pending and len(self._workers) == self.count:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise SetupError(
                    f"the workers did not start listening within {START_SECONDS:.0f} s"
                )
            readable = self._wait(min(left, 1.0), self._pending_reports())
            for worker in pending:
                if worker.ready_fd in readable:
                    self._hear(worker, starting=True)
            self._reap(starting=True)

    def _dead_workers(self) -> list[_Worker]:
        """Reap every worker that has ended; they leave ``_workers``."""
        dead = [w for w in self._workers.values() if _ended(w)]
        for worker in dead:
            del self._workers[worker.pid]
        return dead

    def _reap(self, *, starting: bool = False) -> None:
        """Replace every worker that died, with a growing pause for one that keeps
        dying at start."""
        for worker in self._dead_workers():
            if worker.ready_fd >= 0:
                self._hear(worker, starting=starting)  # it may have listened, then died
            if self._stopping:
                continue
            log.warning(
                "worker %d (pid %d) ended (%s) after %.0f s; starting it again",
                worker.index,
                worker.pid,
                _describe(worker.status),
                time.monotonic() - worker.started,
            )
            if not worker.listening:
                self._failures[worker.index] += 1
                if self._failures[worker.index] >= START_FAILURES:
                    raise SetupError(
                        f"worker {worker.index} ended {START_FAILURES} times in a row "
                        "before it listened; see the messages above"
                    )
                pause = min(2.0 ** self._failures[worker.index], MAX_PAUSE_SECONDS)
                deadline = time.monotonic() + pause
                while not self._stopping and time.monotonic() < deadline:
                    self._wait(deadline - time.monotonic())
                if self._stopping:
                    continue
            self._fork(worker.index)

    def _stop_all(self) -> None:
        """SIGTERM to every worker, wait for them to finish, SIGKILL what is left."""
        self._stopping = True
        for pid in list(self._workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while self._workers and time.monotonic() < deadline:
            self._wait(0.2)
            self._dead_workers()
        for pid in list(self._workers):
            log.warning("worker pid %d did not stop within %.0f s; killed", pid, STOP_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for worker in self._workers.values():
            if worker.ready_fd >= 0:
                os.close(worker.ready_fd)
        self._workers.clear()

    # -- the worker ---------------------------------------------------------------------

    def _become_worker(self, index: int, ready_fd: int) -> None:
        code = 1
        pipe = [ready_fd]  # -1 once the one report went out
        try:
            parent = os.getppid()
            _die_with_parent()
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            os.close(self._wake_r)
            os.close(self._wake_w)
            for worker in self._workers.values():  # the other workers' pipes
                if worker.ready_fd >= 0:
                    os.close(worker.ready_fd)
            if os.getppid() != parent:  # the parent died before the death signal was set
                os._exit(1)

            def announce() -> None:
                _report(pipe, "ready")

            self.run_worker(index, announce)
            code = 0
        except SetupError as exc:
            _report(pipe, str(exc))
        except BaseException:
            traceback.print_exc()
            _report(pipe, "a worker failed while starting; see the messages above")
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)


def _report(pipe: list[int], message: str) -> None:
    """Tell the parent one line through ``pipe[0]``, then close it: only the first
    report of a worker counts."""
    fd, pipe[0] = pipe[0], -1
    if fd < 0:
        return
    with contextlib.suppress(OSError):
        os.write(fd, message.replace("\n", " ").encode()[:4000] + b"\n")
    with contextlib.suppress(OSError):
        os.close(fd)


def _ended(worker: _Worker) -> bool:
    """Whether ``worker`` has ended (then reaped, its status kept)."""
    try:
        pid, status = os.waitpid(worker.pid, os.WNOHANG)
    except ChildProcessError:
        return True
    if pid == 0:
        return False
    worker.status = status
    return True


def _read_report(fd: int) -> str:
    try:
        os.set_blocking(fd, False)
        return os.read(fd, 4096).decode(errors="replace").strip()
    except OSError:
        return ""


def _die_with_parent() -> None:
    """Linux: SIGTERM this process when its parent dies, so no worker is orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
