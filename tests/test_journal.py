"""The tracking journal under concurrent writers and file rotation.

Request threads write journal lines without holding the recorder's lock; these tests
check what that must not break: every finished event reaches the database exactly
once, and an event begun but not finished is always in a journal file that is
still there, across rotations, so a killed process loses nothing.
"""

from __future__ import annotations

import json
import os
import threading
import uuid

from gateway.services.journal import Recorder, read_journal, replay_dead_journals
from gateway.services.tracking import new_event_uid

THREADS = 8
EVENTS_PER_THREAD = 150


def _row(n: int) -> dict:
    return {"uid": uuid.uuid4().hex, "n": n, "bytes": 0, "path": f"Exposé {n}.pdf"}


class Store:
    """The database side: what the writer thread appended, in order."""

    def __init__(self):
        self.rows: list[dict] = []
        self.lock = threading.Lock()

    def append(self, rows: list[dict]) -> int:
        with self.lock:
            self.rows.extend(rows)
        return len(rows)


def test_concurrent_writers_across_rotations_store_each_event_once(tmp_path):
    store = Store()
    recorder = Recorder(tmp_path, store.append, rotate_bytes=4096, linger=0.001)
    recorder.start()
    sent: list[list[str]] = [[] for _ in range(THREADS)]

    def serve(worker: int) -> None:
        for i in range(EVENTS_PER_THREAD):
            row = _row(worker * 1000 + i)
            recorder.begin(row, progress=lambda: 0)
            assert recorder.finish(dict(row, bytes=10))
            sent[worker].append(row["uid"])

    threads = [threading.Thread(target=serve, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert recorder.flush(30)
    stored = [row["uid"] for row in store.rows]
    assert sorted(stored) == sorted(uid for uids in sent for uid in uids)  # once each
    assert all(row["bytes"] == 10 for row in store.rows)  # the finished version
    recorder.stop()
    assert list(tmp_path.iterdir()) == []  # every journal file removed once stored


def test_begun_events_survive_rotations_in_the_files_left(tmp_path):
    store = Store()
    recorder = Recorder(tmp_path, store.append, rotate_bytes=2048, linger=0.001)
    recorder.start()
    open_rows = [_row(n) for n in range(5)]
    for row in open_rows:
        recorder.begin(row, progress=lambda: 0)  # big downloads still running
    for n in range(300):  # many short ones: the journal rotates many times
        row = _row(100 + n)
        recorder.begin(row)
        recorder.finish(row)
    assert recorder.flush(30)
    # A SIGKILL now: what is in the journal files left must hold the running ones.
    left = [row for path in tmp_path.iterdir() for row in read_journal(path)]
    assert {row["uid"] for row in open_rows} <= {row["uid"] for row in left}
    assert len(list(tmp_path.iterdir())) <= 2  # stored files were removed meanwhile
    recorder.stop()
    assert {row["uid"] for row in open_rows} <= {row["uid"] for row in store.rows}


def test_replay_prefers_a_finish_in_an_older_file_to_a_begin_copied_into_a_newer(tmp_path):
    """A rotation copies a running event's first line into the new file while its last
    line can still land in the old one; a killed process leaves both."""
    row = _row(1)

    def journal(name: str, final: bool, sent: int) -> None:
        entry = {"final": final, "event": dict(row, bytes=sent)}
        (tmp_path / name).write_text(json.dumps(entry) + "\n")

    journal("1234-ab.10.jsonl", final=False, sent=0)  # sorts before the older file
    journal("1234-ab.9.jsonl", final=True, sent=4096)
    store = Store()
    assert replay_dead_journals(tmp_path, store.append) == 1
    assert [(r["uid"], r["bytes"]) for r in store.rows] == [(row["uid"], 4096)]
    assert list(tmp_path.iterdir()) == []


def _kill(recorder: Recorder) -> None:
    """What a SIGKILL leaves: the files as they are, the writer gone."""
    recorder._stopping = True
    with recorder._changed:
        recorder._changed.notify_all()
    recorder._thread.join()
    os.close(recorder._fd)  # its locks go with its descriptors
    recorder._current.close()


def test_a_final_line_holds_only_the_changes_and_replays_to_the_whole_event(tmp_path):
    appended = Store()
    recorder = Recorder(tmp_path, lambda rows: 0, linger=60)  # the database never gets them
    recorder.start()
    row = _row(7)
    recorder.begin(row, progress=lambda: 0)
    assert recorder.finish(dict(row, bytes=4096, complete=True))
    _kill(recorder)
    lines = [json.loads(line) for p in tmp_path.iterdir() for line in p.read_text().splitlines()]
    assert lines[-1] == {
        "final": True,
        "uid": row["uid"],
        "changed": {"bytes": 4096, "complete": True},
    }
    assert replay_dead_journals(tmp_path, appended.append) == 1
    assert appended.rows == [dict(row, bytes=4096, complete=True)]


def test_replay_merges_changes_into_a_first_line_found_in_a_later_file(tmp_path):
    row = _row(2)
    first = {"final": False, "event": row}
    changes = {"final": True, "uid": row["uid"], "changed": {"bytes": 512}}
    (tmp_path / "99-ab.1.jsonl").write_text(json.dumps(changes) + "\n")  # read first
    (tmp_path / "99-ab.2.jsonl").write_text(json.dumps(first) + "\n")
    store = Store()
    assert replay_dead_journals(tmp_path, store.append) == 1
    assert store.rows == [dict(row, bytes=512)]
    assert list(tmp_path.iterdir()) == []


def test_event_uids_differ_within_a_process_and_across_a_fork():
    uids = {new_event_uid() for _ in range(1000)}
    assert len(uids) == 1000 and {len(uid) for uid in uids} == {32}
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a server process forked after import
        os.write(write_end, new_event_uid().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    in_child = os.read(read_end, 64).decode()
    os.close(read_end)
    os.close(write_end)
    assert in_child not in uids and in_child[:16] != new_event_uid()[:16]
