"""Loads that are killed, and readers that query while loads run, in real separate processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.load import load_paths
from tests.conftest import file_digest, table_rows

ROOT = Path(__file__).resolve().parents[1]


def synthetic_tickets(path: Path, n: int, start: int = 0) -> Path:
    """n canonical tickets (ids start..start+n) referencing the conftest outlets."""
    rng = np.random.default_rng(start)
    created = (np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 86400 * 600, n).astype("timedelta64[s]")).astype("datetime64[us]")
    ids = np.arange(start, start + n)
    frame = pl.DataFrame({
        "ticket_id": [f"T{i:08d}" for i in ids],
        "channel": rng.choice(["tmall", "jd", "pdd", "phone"], n),
        "service_type": rng.choice(["repair", "install", "delivery"], n),
        "priority": "normal",
        "status": "open",
        "outlet_id": rng.choice(["O1", "O2"], n),
        "created_at": created,
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)
    return path


def _cli(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "aftersales.cli", "--db", str(db), *args]


def test_a_killed_load_leaves_the_database_exactly_as_it_was(db_path, masters, tmp_path):
    load_paths(db_path, masters, show_progress=False)
    before = file_digest(db_path)
    big = synthetic_tickets(tmp_path / "big" / "tickets.parquet", 600_000)
    work = db_path.with_name(f".{db_path.name}.work")
    proc = subprocess.Popen(_cli(db_path, "load", str(big)), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not work.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(0.3)  # well inside the load: reading and staging 600k rows takes seconds
    assert proc.poll() is None, "the load finished before it could be killed; make the file bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert file_digest(db_path) == before
    assert table_rows(db_path, "SELECT count(*) FROM tickets") == [(0,)]
    # The next writer clears the orphaned copy and loads normally.
    res = load_paths(db_path, [big], show_progress=False)[0]
    assert res.inserted == 600_000
    assert not work.exists()


READER = textwrap.dedent("""
    import json, sys, time, duckdb
    db, stop_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
    seen, errors, n = set(), [], 0
    import os
    while not os.path.exists(stop_file):
        try:
            with duckdb.connect(db, read_only=True) as con:
                tickets = con.execute("SELECT count(*) FROM tickets").fetchall()[0][0]
                ledger = con.execute("SELECT coalesce(sum(inserted), 0) FROM loads "
                                     "WHERE table_name = 'tickets'").fetchall()[0][0]
            seen.add((tickets, int(ledger)))
            n += 1
        except Exception as exc:
            errors.append(repr(exc))
    json.dump({"seen": sorted(seen), "errors": errors[:5], "queries": n}, open(out, "w"))
""")


def test_readers_never_see_an_error_or_a_half_loaded_state(db_path, masters, tmp_path):
    load_paths(db_path, masters, show_progress=False)
    files = [synthetic_tickets(tmp_path / f"part{i}" / "tickets.parquet", 100_000, start=i * 100_000)
             for i in range(4)]
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db_path), str(stop), str(out)])
    try:
        time.sleep(0.5)
        for f in files:  # four separate loads, each published whole
            subprocess.run(_cli(db_path, "load", str(f)), cwd=ROOT, check=True, capture_output=True)
        time.sleep(0.3)
    finally:
        stop.touch()
        reader.wait(timeout=60)
    result = json.loads(out.read_text())
    assert result["errors"] == []
    assert result["queries"] > 20
    # Every state a reader saw is a whole number of loads, and the ledger agrees with the table.
    for tickets, ledger in result["seen"]:
        assert tickets == ledger and tickets % 100_000 == 0, result["seen"]
    assert len(result["seen"]) >= 3  # it really read while loads landed
