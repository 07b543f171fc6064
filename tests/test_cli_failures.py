"""Every way `aftersales` can fail ends the same: exit status 2, one short line naming the file and
what to do, no traceback, the live database byte-identical and nothing left behind (no work copy,
no temporary file). Each case runs the real CLI in a subprocess; the full disk is a real, small
tmpfs mounted for the test (skipped, saying why, where mounting is not permitted)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aftersales.errors import MESSAGE_LIMIT
from pipelines.load import load_paths
from tests.conftest import TICKET_HEADER, file_digest, ticket_row, write
from tests.test_concurrency import synthetic_tickets

ROOT = Path(__file__).resolve().parents[1]
# "aftersales load: error: " and the like, before the clipped message.
PREFIX_ROOM = 40

# Runs the CLI with one function of the product replaced by a wrapper that first does something
# real to the world (deletes the file being loaded) or raises; argv: target, action, CLI args...
HOOKED = textwrap.dedent("""
    import errno, importlib, sys
    from pathlib import Path
    target, action, *argv = sys.argv[1:]
    module_name, name = target.rsplit(".", 1)
    module = importlib.import_module(module_name)
    original = getattr(module, name)
    def hooked(*args, **kwargs):
        if action == "delete":
            Path(args[0]).unlink()
            return original(*args, **kwargs)
        if action == "delete_after":
            out = original(*args, **kwargs)
            Path(args[0]).unlink()
            return out
        if action == "disk_full":
            raise OSError(errno.ENOSPC, "No space left on device")
        raise {"KeyError": KeyError("region"), "ZeroDivisionError": ZeroDivisionError("division by zero"),
               "MemoryError": MemoryError(), "RuntimeError": RuntimeError("x" * 100_000),
               "KeyboardInterrupt": KeyboardInterrupt()}[action]
    setattr(module, name, hooked)
    from aftersales.cli import main
    sys.exit(main(argv))
""")


def _env(tmp: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}
    env.pop("AFTERSALES_DEBUG", None)
    return env


def _run(db: Path, tmp: Path, *args: str, hook: tuple[str, str] | None = None) -> subprocess.CompletedProcess:
    argv = ["--db", str(db), *args]
    cmd = [sys.executable, "-c", HOOKED, *hook, *argv] if hook else [sys.executable, "-m", "aftersales.cli", *argv]
    return subprocess.run(cmd, cwd=ROOT, env=_env(tmp), capture_output=True, text=True, timeout=120)


def _listing(*dirs: Path) -> dict[str, list[str]]:
    return {str(d): sorted(p.name for p in d.iterdir()) for d in dirs}


def _assert_clean_failure(proc: subprocess.CompletedProcess, db: Path, digest: str, before: dict,
                          dirs: tuple[Path, ...], names: str | None) -> str:
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    assert "Traceback" not in err and "Traceback" not in proc.stdout
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err[-2000:]  # one message
    assert len(lines[0]) <= MESSAGE_LIMIT + PREFIX_ROOM, len(lines[0])
    if names:
        assert names in lines[0], lines[0]
    assert file_digest(db) == digest  # the live database byte for byte as it was
    assert _listing(*dirs) == before  # no work copy, WAL, spill directory or temporary file left
    return lines[0]


@pytest.fixture
def live(tmp_path: Path, masters: list[Path]) -> tuple[Path, Path]:
    """A database with master data and two tickets, and an empty TMPDIR for the CLI runs."""
    db = tmp_path / "db" / "aftersales.duckdb"
    tickets = write(tmp_path / "in" / "tickets.csv", TICKET_HEADER + "\n" + ticket_row("A1") + "\n" + ticket_row("A2") + "\n")
    load_paths(db, [*masters, tickets], show_progress=False)
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    return db, tmp


def _tickets_csv(path: Path, ids: range) -> Path:
    return write(path, TICKET_HEADER + "\n" + "\n".join(ticket_row(f"B{i}") for i in ids) + "\n")


@pytest.mark.parametrize("case", ["empty", "all_nul", "wide_header", "not_a_database"])
def test_bad_files_end_in_one_short_line(live, tmp_path, case):
    db, tmp = live
    data = {"empty": b"", "all_nul": b"\0" * 1_000_000, "wide_header": b"x" * 300_000 + b",ticket_id\n1,2\n"}
    if case == "not_a_database":
        bad = tmp_path / "other" / "notes.duckdb"
        write(bad, "these are my notes, not a database\n")
        (bad.parent / (bad.name + ".lock")).touch()  # the writers' queue: kept by design, not a leftover
        digest, before = file_digest(bad), _listing(bad.parent, tmp)
        proc = _run(bad, tmp, "load", str(_tickets_csv(tmp_path / "in" / "tickets_new.csv", range(3))))
        msg = _assert_clean_failure(proc, bad, digest, before, (bad.parent, tmp), bad.name)
        assert "not a DuckDB database" in msg
        return
    target = tmp_path / "in" / f"{case}.csv"
    target.write_bytes(data[case])
    digest, before = file_digest(db), _listing(db.parent, tmp)
    proc = _run(db, tmp, "load", "--source", "canonical-tickets", str(target))
    msg = _assert_clean_failure(proc, db, digest, before, (db.parent, tmp), target.name)
    if case == "empty":
        assert "empty (0 bytes)" in msg


@pytest.mark.parametrize("hook", [("pipelines.load.read_file", "delete"), ("pipelines.read._scan_csv", "delete_after")],
                         ids=["before-reading", "after-the-header"])
def test_a_file_deleted_while_loading(live, tmp_path, hook):
    # Really deleted, at two moments: before its rows are read, and after its header was read
    # (a UTF-8 CSV is then scanned in place by DuckDB, which finds it gone).
    db, tmp = live
    gone = _tickets_csv(tmp_path / "in" / "tickets_vanishing.csv", range(50))
    digest, before = file_digest(db), _listing(db.parent, tmp)
    proc = _run(db, tmp, "load", str(gone), hook=hook)
    msg = _assert_clean_failure(proc, db, digest, before, (db.parent, tmp), gone.name)
    assert "moved or deleted" in msg and not gone.exists()


@pytest.mark.parametrize("kind", ["KeyError", pytest.param("ZeroDivisionError", marks=pytest.mark.slow), "MemoryError",
                                  "RuntimeError", "disk_full"])
def test_an_unexpected_error_anywhere_is_one_line(live, tmp_path, kind):
    db, tmp = live
    digest, before = file_digest(db), _listing(db.parent, tmp)
    # Outside any file's load: the derived tables' refresh, in the load's session.
    new = _tickets_csv(tmp_path / "in" / "tickets_new.csv", range(5))
    proc = _run(db, tmp, "load", str(new), hook=("pipelines.derive.refresh", kind))
    msg = _assert_clean_failure(proc, db, digest, before, (db.parent, tmp), None)
    assert {"disk_full": "disk full", "MemoryError": "out of memory"}.get(kind, "AFTERSALES_DEBUG=1") in msg



def test_an_unexpected_error_in_a_reading_command(live, tmp_path):
    db, tmp = live
    digest, before = file_digest(db), _listing(db.parent, tmp)
    proc = _run(db, tmp, "kpi", "--metric", "ticket_volume", hook=("metrics.query", "KeyError"))
    msg = _assert_clean_failure(proc, db, digest, before, (db.parent, tmp), None)
    assert "KeyError" in msg and "AFTERSALES_DEBUG=1" in msg


def test_interrupt_keeps_its_own_exit_status(live, tmp_path):
    db, tmp = live
    digest = file_digest(db)
    proc = _run(db, tmp, "load", str(_tickets_csv(tmp_path / "in" / "tickets_new.csv", range(5))),
                hook=("pipelines.load.read_file", "KeyboardInterrupt"))
    assert proc.returncode == 130 and "Traceback" not in proc.stderr and "interrupted" in proc.stderr
    assert file_digest(db) == digest


def test_debug_shows_the_traceback(live, tmp_path):
    db, tmp = live
    env = {**_env(tmp), "AFTERSALES_DEBUG": "1"}
    proc = subprocess.run([sys.executable, "-c", HOOKED, "metrics.query", "KeyError", "--db", str(db), "kpi"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" in proc.stderr


# -- a real full disk ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    """Mount a tmpfs of a given size (bytes) at a fresh directory; unmounted afterwards."""
    mounts: list[Path] = []

    def mount(size: int) -> Path:
        point = tmp_path / f"disk{len(mounts)}"
        point.mkdir()
        if shutil.which("mount") is None:
            pytest.skip("no `mount` command: cannot make a small real filesystem for the full-disk cases")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"mounting a tmpfs is not permitted here ({done.stderr.strip()[:200]}): the full-disk "
                        "cases need root or CAP_SYS_ADMIN")
        mounts.append(point)
        return point

    yield mount
    for point in mounts:
        if subprocess.run(["umount", str(point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_disk_full_while_copying_the_database(live, tmp_path, small_disk):
    # Room for the database but not for the load's work copy of it: the copy fails part way.
    db, tmp = live
    disk = small_disk(db.stat().st_size * 3 // 2)
    moved = disk / db.name
    shutil.copyfile(db, moved)
    (disk / (db.name + ".lock")).touch()
    digest, before = file_digest(moved), _listing(disk, tmp)
    proc = _run(moved, tmp, "load", str(_tickets_csv(tmp_path / "in" / "tickets_new.csv", range(5))))
    msg = _assert_clean_failure(proc, moved, digest, before, (disk, tmp), disk.name)
    assert "disk full" in msg


def test_disk_full_at_commit(live, tmp_path, small_disk):
    # Room for the work copy, not for the new data: the file's COMMIT (its WAL) fails.
    db, tmp = live
    disk = small_disk(db.stat().st_size * 2 + (1 << 20))
    moved = disk / db.name
    shutil.copyfile(db, moved)
    (disk / (db.name + ".lock")).touch()
    big = synthetic_tickets(tmp_path / "in" / "tickets.parquet", 300_000)
    digest, before = file_digest(moved), _listing(disk, tmp)
    proc = _run(moved, tmp, "load", "--source", "canonical-tickets", str(big))
    msg = _assert_clean_failure(proc, moved, digest, before, (disk, tmp), big.name)
    assert "disk full" in msg


@pytest.mark.parametrize("args", [["load", "--bogus", "x"], ["kpi", "--grain", "fortnight"], ["nonsense"], []])
def test_usage_mistakes_are_one_line(args, capsys):
    from aftersales.cli import main

    with pytest.raises(SystemExit) as done:
        main(args)
    lines = capsys.readouterr().err.strip().splitlines()
    assert done.value.code == 2 and len(lines) == 1 and "--help" in lines[0]


def test_a_temporary_conversion_is_removed_when_the_file_is_refused(live, tmp_path, monkeypatch):
    # A large UTF-8 CSV read through Polars is first converted to a temporary Parquet file; a
    # file refused after that (here: a required column missing) must not leave it behind.
    import tempfile

    from aftersales.errors import UserError

    db, tmp = live
    monkeypatch.setattr("pipelines.read.DIRECT_CSV", False)
    monkeypatch.setattr("pipelines.read.STREAM_CSV_BYTES", 0)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    made = []
    real = tempfile.mkstemp
    monkeypatch.setattr(tempfile, "mkstemp", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    short = write(tmp_path / "in" / "tickets_short.csv", "ticket_id,channel\nA9,tmall\n")
    with pytest.raises(UserError, match="missing"):
        load_paths(db, [short], show_progress=False)
    assert made and list(tmp.iterdir()) == []
