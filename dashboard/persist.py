"""Computed results kept on disk per database version, so a server restart over the same data
starts warm.

``dashboard.data``'s cached functions keep their results in memory (Streamlit's cache) and,
through ``remember``, in files beside the database: ``<db dir>/.dashboard-cache/<db name>/
<version>/<function>-<key>.pkl``. The version is the one the memory cache is keyed by (the live
file's identity and the config file's mtime), so a new load (a new file) finds nothing here
and computes, exactly as it does in memory; the files of older versions are removed once a
result of the new one is written. The key also covers the code that computes the results
(``metrics``, ``pipelines.status``, ``forecasts.store``, ``dashboard.data``), so a new release
never reads an old release's results.

A result's key is its function's arguments, the reader's data scope among them (``dashboard.data``
passes it in every key): the file of one scope's result is never read for another scope.

Nothing here is needed for correctness: a directory that cannot be written, or a file that
cannot be read back, only means computing again.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT_NAME = ".dashboard-cache"
# AFTERSALES_DASHBOARD_PERSIST=0 keeps results in memory only (benchmarks counting queries).
SWITCH = "AFTERSALES_DASHBOARD_PERSIST"
# Files one process writes per version at most (every filter combination is a file; the warmer
# writes about 150 at 10M): past it, results stay in memory only.
MAX_FILES = 2000
_LOG = logging.getLogger("dashboard.persist")
T = TypeVar("T")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the source of everything that computes a persisted result."""
    import dashboard
    import forecasts
    import metrics
    import pipelines

    files = sorted(Path(metrics.__file__).parent.glob("*.py"))
    files += [Path(pipelines.__file__).parent / n for n in ("status.py", "derive.py")]
    files += [Path(forecasts.__file__).parent / "store.py", Path(dashboard.__file__).parent / "data.py"]
    h = hashlib.sha256()
    for f in files:
        if f.exists():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def directory(db: Path, ver: str) -> Path:
    return db.parent / ROOT_NAME / db.name / ver.replace(":", "-")


def _path(db: Path, ver: str, name: str, args: tuple) -> Path:
    key = hashlib.sha256(pickle.dumps((code_version(), name, args), protocol=5)).hexdigest()[:32]
    return directory(db, ver) / f"{name}-{key}.pkl"


def kept(db: Path, ver: str, name: str, args: tuple) -> bool:
    """Whether ``name(*args)`` on version ``ver`` of ``db`` is on disk (``remember`` reads it back)."""
    if ver == "missing" or os.environ.get(SWITCH) == "0":
        return False
    return _path(db, ver, name, args).exists()


def remember(db: Path, ver: str, name: str, args: tuple, compute: Callable[[], T]) -> T:
    """``compute()``'s result for ``name(*args)`` on version ``ver`` of ``db``: read back from disk
    when a process computed it before, else computed and written."""
    if ver == "missing" or os.environ.get(SWITCH) == "0":
        return compute()
    path = _path(db, ver, name, args)
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except FileNotFoundError:
        pass
    except Exception:  # noqa: BLE001 - a truncated or foreign file: compute again and replace it
        _LOG.warning("ignoring unreadable cached result %s", path)
    value = compute()
    if _count(db, ver) < MAX_FILES:
        _write(path, value)
        _prune_once(db, ver)
    return value


_WRITTEN: dict[tuple[Path, str], int] = {}


def _count(db: Path, ver: str) -> int:
    n = _WRITTEN.get((db, ver), 0)
    _WRITTEN[(db, ver)] = n + 1
    return n


def _write(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            pickle.dump(value, f, protocol=5)
        os.replace(tmp, path)  # readers see the whole file or none
    except OSError as exc:  # a read-only directory, a full disk: memory caching only
        _LOG.info("not keeping a result on disk (%s)", exc)
        tmp.unlink(missing_ok=True)


@functools.lru_cache(maxsize=64)
def _prune_once(db: Path, ver: str) -> None:
    prune(db, ver)


def prune(db: Path, ver: str) -> None:
    """Remove the results of every version of ``db`` but ``ver``."""
    keep = directory(db, ver)
    parent = keep.parent
    if not parent.is_dir():
        return
    for d in parent.iterdir():
        if d != keep and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)


def clear(db: Path) -> None:
    """Remove every persisted result of ``db`` (benchmarks measuring a cold start)."""
    shutil.rmtree(db.parent / ROOT_NAME / db.name, ignore_errors=True)
