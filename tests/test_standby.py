"""Loads that bring the standby up to date instead of copying the database (aftersales/standby.py):
the work file equals the live one byte for byte before every session, whatever killed the one
before it and wherever; a reader still on the standby keeps its version and the load copies."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from aftersales import db as adb
from aftersales import standby
from pipelines.load import load_paths
from tests.conftest import file_digest, table_rows
from tests.test_concurrency import synthetic_tickets

ROOT = Path(__file__).resolve().parents[1]


def _prepared_equals_live(db: Path) -> bool:
    """Run a session's preparation under the writers' lock, compare the work file with the live
    one, and put the work file back as the standby. Returns whether it came from the standby."""
    work = adb.work_path(db)
    with open(db.with_name(db.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        from_standby = adb.prepare_work(db, work)
        assert file_digest(work) == file_digest(db)
        adb._retire(work, db)
    return from_standby


def _count(db: Path) -> int:
    return table_rows(db, "SELECT count(*) FROM tickets")[0][0]


def test_each_session_starts_from_a_byte_identical_standby_and_copies_little(db_path, masters, tmp_path,
                                                                              monkeypatch):
    load_paths(db_path, masters, show_progress=False)
    copied: list[int] = []
    real = standby.sync
    monkeypatch.setattr(standby, "sync", lambda live, fd: copied.append(real(live, fd)) or copied[-1])
    for i in range(3):
        f = synthetic_tickets(tmp_path / f"d{i}" / "tickets.parquet", 3_000, start=i * 3_000)
        load_paths(db_path, [f], show_progress=False)
        assert adb.standby_path(db_path).exists() and not adb.work_path(db_path).exists()
        assert _prepared_equals_live(db_path)
    assert _count(db_path) == 9_000
    # Each sync copied what the session before it wrote, not the whole file.
    size = db_path.stat().st_size
    assert copied and max(copied) < size, (copied, size)


KILLER = textwrap.dedent("""
    import os, signal, sys
    point, db, data = sys.argv[1], sys.argv[2], sys.argv[3]
    def die():
        os.kill(os.getpid(), signal.SIGKILL)
    from aftersales import db as adb, standby
    import pipelines.load as L
    if point == "sync":  # the first block copied only half way (a torn write), then killed
        real_copy = standby._copy
        def torn(src, dst, off, count):
            if off >= standby.HEADER_BYTES and count > 8:
                real_copy(src, dst, off, 4096)  # the first page: a checksum, if the block starts here
                die()
            return real_copy(src, dst, off, count)
        standby._copy = torn
    elif point == "session":  # a file applied inside DuckDB, before the session ends
        real_load = L.load_file
        def load_then_die(*a, **k):
            real_load(*a, **k)
            die()
        L.load_file = load_then_die
    elif point == "checkpoint":  # checkpointed and closed, not yet published
        adb._fsync = lambda path: die()
    elif point == "publish":  # the live file linked as the standby, the work file not yet renamed
        real_replace = os.replace
        def replace(src, dst):
            if str(dst) == db:
                die()
            return real_replace(src, dst)
        os.replace = replace
    L.load_paths(adb.Path(db), [data], show_progress=False)
""")


@pytest.mark.parametrize("point", ["sync", "session", "checkpoint", "publish"])
def test_a_load_killed_anywhere_leaves_the_published_state_and_a_standby_the_next_load_repairs(
        point, db_path, masters, tmp_path):
    load_paths(db_path, masters, show_progress=False)
    load_paths(db_path, [synthetic_tickets(tmp_path / "a" / "tickets.parquet", 2_000)], show_progress=False)
    load_paths(db_path, [synthetic_tickets(tmp_path / "b" / "tickets.parquet", 2_000, start=2_000)],
               show_progress=False)
    before = file_digest(db_path)
    killed = synthetic_tickets(tmp_path / "c" / "tickets.parquet", 2_000, start=4_000)
    proc = subprocess.run([sys.executable, "-c", KILLER, point, str(db_path), str(killed)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert file_digest(db_path) == before
    assert _count(db_path) == 4_000
    # The next load starts from what the killed one left (its work file, or the standby) and
    # brings it up to date block by block; the result is the live file, byte for byte.
    assert _prepared_equals_live(db_path)
    load_paths(db_path, [killed], show_progress=False)
    assert _count(db_path) == 6_000
    assert _prepared_equals_live(db_path)


READER = textwrap.dedent("""
    import os, sys, time, duckdb
    db, ready, done = sys.argv[1], sys.argv[2], sys.argv[3]
    con = duckdb.connect(db, read_only=True)
    first = con.execute("SELECT count(*) FROM tickets").fetchall()[0][0]
    open(ready + ".tmp", "w").write(str(first))
    os.replace(ready + ".tmp", ready)  # seen whole or not at all
    while not os.path.exists(done):
        time.sleep(0.02)
    again = con.execute("SELECT count(*), sum(hash(ticket_id)) FROM tickets").fetchall()[0]
    print(first, again[0], again[1])
""")


def test_a_reader_still_on_the_standby_keeps_its_version_and_the_load_copies(db_path, masters, tmp_path,
                                                                              monkeypatch):
    load_paths(db_path, masters, show_progress=False)
    load_paths(db_path, [synthetic_tickets(tmp_path / "a" / "tickets.parquet", 2_000)], show_progress=False)
    ready, done = tmp_path / "ready", tmp_path / "done"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db_path), str(ready), str(done)],
                              stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not ready.exists() and time.time() < deadline:
            time.sleep(0.02)
        assert ready.read_text() == "2000"
        held = tmp_path / "held.duckdb"  # another name for the reader's file, to look at it after
        os.link(db_path, held)
        held_digest = file_digest(held)
        monkeypatch.setattr(standby, "READER_WAIT_SECONDS", 0.2)
        # The first session publishes; the file the reader holds becomes the standby. The next
        # finds the reader on it: it must neither wait for it unboundedly nor write under it.
        load_paths(db_path, [synthetic_tickets(tmp_path / "b" / "tickets.parquet", 2_000, start=2_000)],
                   show_progress=False)
        started = time.time()
        load_paths(db_path, [synthetic_tickets(tmp_path / "c" / "tickets.parquet", 2_000, start=4_000)],
                   show_progress=False)
        assert time.time() - started < 120  # bounded: no waiting on the reader, who waits on us
        assert file_digest(held) == held_digest  # not a byte of the reader's file written
        assert os.stat(db_path).st_ino != os.stat(held).st_ino  # published on a copy
    finally:
        done.touch()
        out = reader.communicate(timeout=60)[0].split()
    assert reader.returncode == 0
    first, again, _ = out
    assert first == again == "2000"  # its version, whole, to the end
    assert _count(db_path) == 6_000
