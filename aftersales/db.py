"""Opening the database: many readers, one writer, and loads that land all at once.

DuckDB lets one process write a file or several read it, never both. Managers browse while
loads run, so a writer never touches the live file: it works on a second file, applies its files
there, and renames it over the live file when done. Readers open the live path read-only and see
either the database before the load or after it, never a half-loaded one, and never a lock error.

The second file is the version the previous load replaced (the standby, ``.NAME.standby``),
brought up to date by copying only the blocks that differ from the live file
(``aftersales.standby``), so a load's cost follows what it loads rather than the database's size;
without a standby (the first load, or a reader still holding it) the writer copies the live file
as it always did. A load that crashes or is killed leaves only its work file, which the next
writer brings up to date again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb

from aftersales import model
from aftersales import standby as standby_module
from aftersales.errors import UserError, clip, first_line, is_disk_full

SCHEMA_SQL = Path(__file__).with_name("schema.sql")

# DuckDB's share of a writer's memory budget: the rest is the Python process itself, Arrow
# buffers of the file being read, and what DuckDB allocates outside its buffer manager.
DUCKDB_SHARE = 0.7


class DatabaseMissing(UserError):
    pass


def connect_readonly(db_path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the live database (safe while a load runs)."""
    if not Path(db_path).exists():
        raise DatabaseMissing(
            f"database {db_path} does not exist yet: run `aftersales load PATH` (or the quickstart) first"
        )
    return _connect(Path(db_path), Path(db_path), read_only=True)


def _connect(path: Path, shown: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open ``path``; a file that is not a DuckDB database is a UserError naming ``shown`` (the
    live file a work copy was made from)."""
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "not a valid duckdb database" not in str(exc).lower():
            raise
        raise UserError(f"{clip(shown)} is not a DuckDB database (or is damaged); point --db (or AFTERSALES_DB) at "
                        "the aftersales database, or move this file away to start a new one") from None


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The canonical tables and the pipeline's own, created where missing; a database made by an
    earlier version gains the columns added since (as NULL)."""
    con.execute(model.ddl())
    con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
    have = {(t, c) for t, c in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main' AND NOT internal").fetchall()}
    missing = [stmt for stmt, key in model.upgrade_statements() if key not in have]
    if missing:
        con.execute("\n".join(missing))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def writer(db_path: Path, memory_budget: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """An exclusive read-write session whose changes become visible only when it ends cleanly.

    ``memory_budget``: bytes the session may hold (default: the config default's share of the
    machine's memory); DuckDB gets ``DUCKDB_SHARE`` of it and spills the rest to a directory beside
    the work file, removed when the session ends.

    Writers queue on a lock file. On an exception nothing is published and the live file is
    untouched (also on a full disk, which is raised as a UserError saying so); the caller decides
    per file what to commit inside the session. The work file is kept as the next session's
    standby when it was one, removed when this session copied it.
    """
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = db_path.with_name(db_path.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        work = work_path(db_path)
        con = None
        published = False
        keep = False  # whether the work file is a standby worth keeping if the session fails
        try:
            keep = prepare_work(db_path, work)
            try:
                con = _connect(work, db_path)
            except duckdb.IOException as exc:
                if not keep or "lock" not in str(exc).lower():
                    raise
                # A reader took the standby between our check and DuckDB's open (it had opened
                # it while it was live): leave it that file and work on a copy.
                keep = False
                standby_module.copy_whole(db_path, work)
                con = _connect(work, db_path)
            con.execute("SET enable_progress_bar = false")  # the loader shows its own progress
            limit_memory(con, memory_budget, spill_dir(work))
            create_schema(con)
            yield con
            con.execute("CHECKPOINT")
            con.close()
            _fsync(work)
            _publish(work, db_path)
            published = True
            shutil.rmtree(spill_dir(work), ignore_errors=True)
        except Exception as exc:
            if is_disk_full(exc) and not isinstance(exc, UserError):
                raise UserError(disk_full_message(db_path, first_line(exc))) from None
            raise
        finally:
            if not published:
                if con is not None:
                    with contextlib.suppress(Exception):
                        con.close()
                if keep:
                    _retire(work, db_path)
                else:
                    _remove_work(work)


def work_path(db_path: Path) -> Path:
    """The file a writer session applies its changes to before publishing it."""
    return db_path.with_name(f".{db_path.name}.work")


def standby_path(db_path: Path) -> Path:
    """The previous published version, kept to become the next work file (may be deleted any
    time no load runs, to give back its disk space: the next load then copies)."""
    return db_path.with_name(f".{db_path.name}.standby")


def prepare_work(db_path: Path, work: Path) -> bool:
    """Put at ``work`` a file identical to the live database (absent for a new database), for a
    session holding the writers' lock. Returns whether it came from a standby (kept on failure)."""
    standby = standby_path(db_path)
    # A WAL beside the work file is a killed session's: DuckDB would replay it into the file.
    work.with_name(work.name + ".wal").unlink(missing_ok=True)
    shutil.rmtree(spill_dir(work), ignore_errors=True)
    if not db_path.exists():
        work.unlink(missing_ok=True)
        standby.unlink(missing_ok=True)
        return False
    live_ino = db_path.stat().st_ino
    if work.exists():  # a killed session's work file: a standby like any other
        standby.unlink(missing_ok=True)  # killed while publishing, it may even be the live file
    elif standby.exists():
        standby_module.wait_out_grace(standby)
        os.replace(standby, work)
    if work.exists() and work.stat().st_ino != live_ino:
        fd = standby_module.lock_for_writing(work)
        if fd is not None:
            try:
                standby_module.sync(db_path, fd)
                return True
            except standby_module.CannotSync:
                pass
            except BaseException:  # e.g. a full disk: it stays the standby, synced next time
                os.close(fd)
                fd = None
                _retire(work, db_path)
                raise
            finally:
                if fd is not None:
                    os.close(fd)  # DuckDB takes its own lock when it opens the file
    # No standby, a reader still on it, or an unknown layout: a copy of the whole file, on a new
    # inode (a reader keeps the old one).
    standby_module.copy_whole(db_path, work)
    return False


def _publish(work: Path, db_path: Path) -> None:
    """Rename the finished work file over the live one, keeping the live one as the standby."""
    standby = standby_path(db_path)
    standby.unlink(missing_ok=True)
    if db_path.exists():
        try:
            os.link(db_path, standby)  # killed before the rename: prepare_work drops this name
        except OSError:
            pass  # a file system without hard links: no standby, the next load copies
    os.replace(work, db_path)
    _fsync(db_path.parent)


def _retire(work: Path, db_path: Path) -> None:
    """A failed session's work file becomes the standby again (the next session syncs it)."""
    work.with_name(work.name + ".wal").unlink(missing_ok=True)
    shutil.rmtree(spill_dir(work), ignore_errors=True)
    if work.exists():
        os.replace(work, standby_path(db_path))


def _remove_work(work: Path) -> None:
    """The work copy, its WAL and DuckDB's spill directory beside it."""
    work.unlink(missing_ok=True)
    work.with_name(work.name + ".wal").unlink(missing_ok=True)
    shutil.rmtree(spill_dir(work), ignore_errors=True)


def spill_dir(work: Path) -> Path:
    """Where a writer's DuckDB spills what does not fit its memory limit: beside the work copy, on
    the database's disk (a load already needs room there), never the system's /tmp."""
    return work.with_name(work.name + ".tmp")


def limit_memory(con: duckdb.DuckDBPyConnection, budget: int | None, temp_dir: Path) -> int:
    """Hold ``con`` to ``DUCKDB_SHARE`` of ``budget`` bytes (default: the config's default budget),
    spilling to ``temp_dir``. Returns DuckDB's limit in bytes."""
    if budget is None:
        from aftersales.config import DEFAULTS, memory_budget_bytes
        budget = memory_budget_bytes(DEFAULTS["load"]["memory_budget"])
    limit = max(128 * 2**20, int(budget * DUCKDB_SHARE))
    # Settings take values as bound parameters like any other statement.
    con.execute("SET memory_limit = $m", {"m": f"{limit // 2**20}MiB"})
    con.execute("SET temp_directory = $d", {"d": str(temp_dir)})
    return limit


def peak_rss_bytes() -> int:
    """The highest resident memory this process has reached so far. Linux's VmHWM, not
    getrusage's ru_maxrss: that one survives exec, so a child started by a large parent would
    report the parent's peak."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def disk_full_message(db_path: Path, detail: str = "") -> str:
    """Said when a disk fills up during a load (the copy, a file, the commit); ``detail``: what
    could not be written (it may be a temporary file on another disk)."""
    size = db_path.stat().st_size if db_path.exists() else 0
    return (f"disk full{f' ({clip(detail)})' if detail else ''}; nothing was changed. A load needs room beside the "
            f"database for a copy of it ({size / 2**20:,.0f} MB) and the new data: free space in "
            f"{clip(db_path.parent)}, or use --db on a larger disk, and load again")


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> tuple | None:
    """First row of a query, or None. Fetches to the end: DuckDB 2 refuses further work on a
    connection while a result is only partly read."""
    rows = con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    return rows[0] if rows else None
