"""Forecast fits on a Dask distributed cluster (``--executor dask``).

The same chunks the local pool would run go to the cluster's workers as Dask tasks; the results
come back to this process, which alone writes DuckDB (after every chunk is back, so a failed run
stores nothing). Before the first chunk, every worker is checked for what would otherwise fail
late or differ silently: the same versions of the packages the fits use, the same ``forecasts``
code, and Prophet's bundled Stan model loading there (nothing is downloaded on a worker).

A worker that dies mid-run (killed, out of memory) loses its chunk to another worker: Dask's
scheduler retries it (``distributed.scheduler.allowed-failures``, 3 by default) and then fails
the run with ``KilledWorker``, which becomes one message here. A cluster left with no worker for
``NO_WORKERS_SECONDS`` fails the run too, rather than waiting for ever.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
import warnings
from collections.abc import Callable
from concurrent.futures import CancelledError
from contextlib import contextmanager
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from aftersales.errors import UserError, clip, first_line
from forecasts.executor import run_chunk_anywhere

CONNECT_SECONDS = 10      # reaching the scheduler
WORKERS_SECONDS = 30      # a worker joining a scheduler that has none yet
NO_WORKERS_SECONDS = 60   # a run's cluster without any worker before it is failed
POLL_SECONDS = 2
# The packages whose versions decide a fit's numbers or a task's transport: all must match the
# client's on every worker.
SAME_VERSIONS = ("python", "dask", "distributed", "cloudpickle", "msgpack", "numpy", "pandas", "polars",
                 "prophet", "cmdstanpy", "statsforecast", "scipy")
TASK_PREFIX = "forecast_chunk"

_QUIET_LOGGERS = ("distributed", "tornado", "asyncio")


def code_fingerprint() -> str:
    """sha256 over the ``forecasts`` package's source (``.py`` and ``.sql``): equal on the client
    and a worker only when both run the same per-series code."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted([*root.glob("*.py"), *root.glob("*.sql")]):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def probe() -> dict[str, Any]:
    """What a worker reports about itself: the project's code and Prophet's bundled model."""
    out: dict[str, Any] = {"code": code_fingerprint()}
    try:
        out["aftersales"] = metadata.version("aftersales")
    except metadata.PackageNotFoundError:
        out["aftersales"] = None
    try:
        import cmdstanpy
        from prophet.models import CmdStanPyBackend

        out["stan_model"] = CmdStanPyBackend().model.exe_file  # loads the model; compiles and downloads nothing
        out["cmdstan"] = cmdstanpy.cmdstan_path()
    except Exception as exc:  # reported per worker by the caller, which names the fix
        out["stan_error"] = first_line(exc)
    return out


class DaskBackend:
    """A connected client (and the local cluster it started, if any) for ``executor.using``."""

    def __init__(self, client: Any, cluster: Any, address: str) -> None:
        self.client = client
        self.cluster = cluster
        self.address = address
        self.workers = sum(client.nthreads().values())

    def describe(self) -> str:
        where = "a local cluster" if self.cluster is not None else f"the scheduler at {self.address}"
        return f"Dask: {len(self.client.nthreads())} worker(s), {self.workers} thread(s) on {where}"

    def check(self) -> None:
        """Refuse a cluster whose scheduler or workers would fail late or compute differently."""
        versions = self.client.get_versions(packages=[p for p in SAME_VERSIONS if p not in ("python",)])
        mine = versions["client"]["packages"]
        for worker, info in sorted(versions["workers"].items()):
            theirs = (info or {}).get("packages") or {}
            wrong = [f"{p} {theirs.get(p, 'missing')} (here {mine.get(p)})" for p in SAME_VERSIONS
                     if theirs.get(p) != mine.get(p)]
            if wrong:
                raise UserError(f"Dask worker {worker} has other package versions: {', '.join(wrong[:4])}; install "
                                "the same versions on every worker (the same `pip install` of this project)")
        here = code_fingerprint()
        try:  # the scheduler unpickles the tasks, so it imports the project too
            scheduler_code = self.client.run_on_scheduler(code_fingerprint)
        except Exception as exc:
            raise UserError(f"the Dask scheduler at {self.address} cannot read the forecast tasks ({first_line(exc)}): "
                            "install this project where the scheduler runs too (the same checkout or wheel)") from None
        if scheduler_code != here:
            raise UserError(f"the Dask scheduler at {self.address} has other forecasts code than this machine: install "
                            "the same checkout or wheel of this project there")
        for worker, got in sorted(self.client.run(probe, on_error="return").items()):
            if isinstance(got, BaseException):
                raise UserError(f"Dask worker {worker} cannot run the forecasts ({first_line(got)}): install this "
                                "project on every worker (`pip install` of the same checkout or wheel)")
            if got["code"] != here:
                raise UserError(f"Dask worker {worker} has other forecasts code than this machine: install the same "
                                "checkout or wheel of this project on every worker")
            if "stan_error" in got:
                raise UserError(f"Dask worker {worker} cannot load Prophet's bundled Stan model ({got['stan_error']}): "
                                "install prophet from its wheel there (it bundles cmdstan; nothing is downloaded)")

    def map_chunks(self, fn: Callable[[Any], Any], chunks: list[list[Any]],
                   done: Callable[[int], None]) -> list[list[Any]]:
        from distributed import KilledWorker, wait

        token = uuid.uuid4().hex
        futures = self.client.map(partial(run_chunk_anywhere, fn), chunks, pure=False,
                                  key=[f"{TASK_PREFIX}-{token}-{i}" for i in range(len(chunks))])
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[list[Any] | None] = [None] * len(chunks)
        pending = set(futures)
        idle_since: float | None = None
        try:
            with self.client.as_current():  # ``wait`` finds its client there
                while pending:
                    try:
                        finished, pending = wait(pending, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
                    except TimeoutError:  # all workers gone: fail rather than wait for ever
                        idle_since = self._still_has_workers(idle_since)
                        continue
                    for f in finished:
                        i = index[f.key]
                        results[i] = f.result()  # the fit's own error, as the local pool raises it
                        done(i)
        except CancelledError:  # the client cancels everything when it loses the scheduler
            left = sum(r is None for r in results)
            raise UserError(f"lost the Dask scheduler at {self.address} mid-run ({left} of {len(chunks)} chunks "
                            "unfinished): nothing was stored; start it again and rerun") from None
        except KilledWorker as exc:
            self.client.cancel(futures)
            raise UserError(f"Dask workers died running a forecast chunk ({first_line(exc)}) more often than the "
                            "scheduler retries it: nothing was stored; look at the workers' memory and logs") from None
        except BaseException:  # a fit's error, Ctrl-C or a lost scheduler: nothing else keeps running
            try:
                self.client.cancel(futures)
            except Exception:
                pass
            raise
        return results  # type: ignore[return-value]

    def _still_has_workers(self, idle_since: float | None) -> float | None:
        try:
            n = len(self.client.nthreads())
        except Exception as exc:
            raise UserError(f"lost the Dask scheduler at {self.address} mid-run ({first_line(exc)}): nothing was "
                            "stored") from None
        if n:
            return None
        now = time.monotonic()
        if idle_since is None:
            return now
        if now - idle_since > NO_WORKERS_SECONDS:
            raise UserError(f"the Dask scheduler at {self.address} has had no worker for {NO_WORKERS_SECONDS} s "
                            "mid-run: nothing was stored; start workers with `dask worker ADDRESS` and run again")
        return idle_since

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def _quiet() -> None:
    """The client logs every reconnection attempt and worker loss, tracebacks included; the CLI
    says what happened once (``AFTERSALES_DEBUG=1`` keeps the logs). distributed's own logging
    config gives some children a level of their own, so each is set, not only the parent."""
    if os.environ.get("AFTERSALES_DEBUG"):
        return
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in _QUIET_LOGGERS]
    for name in {*_QUIET_LOGGERS, *names}:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _unreachable(scheduler: str, seconds: float) -> str | None:
    """Why ``scheduler`` cannot be reached over plain TCP, or None. Checked before a ``Client``
    is made: the client retries a refused connection until its timeout and then, at exit,
    prints a traceback from its own finaliser."""
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(scheduler)
        host, port = parse_host_port(location)
    except ValueError as exc:
        return first_line(exc)
    if scheme != "tcp":  # tls://, ucx://: left to the client
        return None
    try:
        socket.create_connection((host, port), timeout=seconds).close()
    except OSError as exc:
        return first_line(exc) or type(exc).__name__
    return None


def connect(scheduler: str | None, workers: int | None, timeout: float = CONNECT_SECONDS) -> DaskBackend:
    """A checked cluster: the scheduler at ``scheduler``, or a local cluster of ``workers``
    single-threaded worker processes (every core when None); ``timeout`` seconds to reach the
    scheduler."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UserError("--executor dask needs the `distributed` package: pip install distributed") from None
    _quiet()
    with warnings.catch_warnings():  # version mismatches are checked below, as one message
        warnings.simplefilter("ignore")
        if scheduler:
            why = _unreachable(scheduler, timeout)
            if why is None:
                try:
                    client = Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
                except Exception as exc:
                    why = first_line(exc) or type(exc).__name__
            if why is not None:
                raise UserError(f"cannot reach the Dask scheduler at {clip(scheduler)} ({clip(why)}): start it with "
                                "`dask scheduler` and workers with `dask worker ADDRESS`, or leave out --scheduler "
                                "to run a local cluster; nothing was stored")
            cluster = None
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.CRITICAL)
            client = Client(cluster, set_as_default=False)
    backend = None
    try:
        try:
            client.wait_for_workers(1, timeout=WORKERS_SECONDS)
        except TimeoutError:
            raise UserError(f"no Dask worker joined the scheduler at {clip(scheduler)} within {WORKERS_SECONDS} s: "
                            f"start workers with `dask worker {clip(scheduler)}`; nothing was stored") from None
        backend = DaskBackend(client, cluster, scheduler or cluster.scheduler_address)
        backend.check()
        return backend
    except BaseException:
        client.close()
        if cluster is not None:
            cluster.close()
        raise


@contextmanager
def cluster(scheduler: str | None, workers: int | None):
    """``connect`` for the length of a ``with`` block, with ``map_series`` sent to it."""
    from forecasts import executor

    backend = connect(scheduler, workers)
    try:
        with executor.using(backend):
            yield backend
    finally:
        backend.close()
