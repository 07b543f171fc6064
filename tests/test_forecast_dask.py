"""`--executor dask`: the same fits on a real Dask cluster (a LocalCluster of 2 worker processes,
its scheduler in this process), the same stored numbers as the local executor, and failures that
store nothing: an unreachable scheduler, workers that die."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import cloudpickle
import dask
import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from aftersales import model
from aftersales.cli import main
from aftersales.principal import DataScope
from forecasts import dask_backend, run_workload, store, synthetic
from forecasts.executor import map_series

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
# The helpers below travel to the workers by value: a worker need not import the tests.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes; a task whose worker dies is retried once, then the
    run fails with KilledWorker (the scheduler reads this when it starts)."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                      silence_logs=50)
    yield cl
    cl.close()


@pytest.fixture()
def db(tmp_path) -> Path:
    path = tmp_path / "fc.duckdb"
    con = duckdb.connect(str(path))
    con.execute(model.ddl())
    con.close()
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _chunks_run(cluster) -> int:
    """Forecast chunks computed on the cluster so far: the scheduler's own count, not ours."""
    prefix = cluster.scheduler.task_prefixes.get(dask_backend.TASK_PREFIX)
    return 0 if prefix is None else prefix.state_counts["memory"]


def _stored(db: Path, run_id: str) -> pl.DataFrame:
    return store.read_forecast(db, run_id, scope=DataScope()).drop("run_id", strict=False).sort(pl.all())


def test_workload_and_parts_on_dask_store_what_the_local_executor_stores(cluster, db, tmp_path, capsys):
    long = synthetic.daily_workload(n_series=2, seed=9, start=dt.date(2024, 1, 1), end=dt.date(2025, 3, 31))
    wfile = tmp_path / "w.csv"
    long.write_csv(wfile)
    common = ["--db", str(db), "forecast", "workload", "--input", str(wfile), "--origins", "1", "--horizon", "14"]
    assert main([*common, "--workers", "2"]) == 0  # the local process pool
    local = store.latest_run(db, "workload", source=None)
    before = _chunks_run(cluster)
    assert main([*common, "--executor", "dask", "--scheduler", cluster.scheduler_address]) == 0
    err = capsys.readouterr().err
    assert "Dask: 2 worker(s), 2 thread(s) on the scheduler at tcp://" in err
    on_dask = store.latest_run(db, "workload", source=None)
    assert on_dask["run_id"] != local["run_id"] and on_dask["workers"] == 2
    assert on_dask["params"]["executor"] == f"dask {cluster.scheduler_address}" and local["params"]["executor"] == "local"
    # every series' fits (its backtest origin and the final fit: one task a series) ran on the cluster
    assert _chunks_run(cluster) - before == 2
    assert _stored(db, on_dask["run_id"]).height == 2 * 14
    # Prophet (cmdstan, the bundled model) and the statistical models ran in the workers, same numbers
    assert_frame_equal(_stored(db, on_dask["run_id"]), _stored(db, local["run_id"]))

    demand, _ = synthetic.weekly_parts(n_series=24, weeks=80, seed=3)
    pfile = tmp_path / "p.csv"
    demand.write_csv(pfile)
    common = ["--db", str(db), "forecast", "parts", "--input", str(pfile), "--origins", "1"]
    assert main([*common, "--workers", "2"]) == 0  # 24 parts: under parts.parallel_min_series, in-process
    local = store.latest_run(db, "parts", source=None)
    before = _chunks_run(cluster)
    assert main([*common, "--executor", "dask", "--scheduler", cluster.scheduler_address]) == 0
    on_dask = store.latest_run(db, "parts", source=None)
    # on a cluster even these few parts go out (no process start to save): the batch, the policy curves
    assert _chunks_run(cluster) - before >= 2
    assert _stored(db, on_dask["run_id"]).height > 0
    assert_frame_equal(_stored(db, on_dask["run_id"]), _stored(db, local["run_id"]))
    assert_frame_equal(store.read_reorder(db, on_dask["run_id"], scope=DataScope()).drop("run_id",
                                                                                         strict=False).sort("part_no"),
                       store.read_reorder(db, local["run_id"], scope=DataScope()).drop("run_id",
                                                                                       strict=False).sort("part_no"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_one_line_and_changes_nothing(db, tmp_path, capsys):
    wfile = tmp_path / "w.csv"
    synthetic.daily_workload(n_series=1, seed=1, start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31)).write_csv(wfile)
    before = _sha(db)
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    command = ["--db", str(db), "forecast", "workload", "--input", str(wfile), "--executor", "dask"]
    got = subprocess.run([sys.executable, "-m", "aftersales.cli", *command, "--scheduler", address],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                         timeout=120)
    assert got.returncode == 2, got.stderr
    assert got.stderr.count("\n") == 1 and "Traceback" not in got.stderr, got.stderr
    assert f"cannot reach the Dask scheduler at {address} (" in got.stderr and "`dask scheduler`" in got.stderr
    assert main([*command, "--scheduler", "no-port-here"]) == 2
    assert "cannot reach the Dask scheduler at no-port-here (missing port number" in capsys.readouterr().err
    assert main([*command[:-2], "--scheduler", address]) == 2
    assert "--scheduler needs --executor dask" in capsys.readouterr().err
    assert _sha(db) == before


def square_dying_once(item: tuple[str, int]) -> int:
    """Kills its worker process the first time any task runs (a marker file remembers it)."""
    marker, x = item
    if not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return x * x


def always_dying(item: object) -> object:
    os._exit(1)


def test_a_worker_dying_mid_run_is_retried(cluster, tmp_path):
    backend = dask_backend.connect(cluster.scheduler_address, None)
    try:
        from forecasts import executor

        marker = str(tmp_path / "died")
        with executor.using(backend):
            got = map_series(square_dying_once, [(marker, x) for x in range(6)], workers=2, chunk_size=2)
        assert Path(marker).exists()  # a worker did die
        assert got == [x * x for x in range(6)]
        backend.client.wait_for_workers(2, timeout=60)  # the nanny restarted it
    finally:
        backend.close()


def test_workers_that_keep_dying_fail_the_run_and_store_nothing(cluster, db, tmp_path, monkeypatch, capsys):
    wfile = tmp_path / "w.csv"
    synthetic.daily_workload(n_series=2, seed=2, start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31)).write_csv(wfile)
    before = _sha(db)
    monkeypatch.setattr(run_workload, "forecast_series", always_dying)
    code = main(["--db", str(db), "forecast", "workload", "--input", str(wfile), "--origins", "1", "--horizon", "14",
                 "--executor", "dask", "--scheduler", cluster.scheduler_address])
    err = capsys.readouterr().err
    assert code == 2
    assert "Dask workers died running a forecast chunk" in err and "nothing was stored" in err
    assert _sha(db) == before and store.latest_run(db, "workload", source=None) is None
    with distributed.Client(cluster, set_as_default=False) as c:
        c.wait_for_workers(2, timeout=60)


def test_a_worker_without_the_same_forecasts_code_is_refused(cluster, monkeypatch):
    monkeypatch.setattr(dask_backend, "code_fingerprint", lambda: "another checkout")
    with pytest.raises(dask_backend.UserError, match=r"Dask worker tcp://\S+ has other forecasts code than this machine"):
        dask_backend.connect(cluster.scheduler_address, None)


def slow_square(x: int) -> int:
    import time

    time.sleep(0.5)
    return x * x


def test_a_scheduler_lost_mid_run_is_one_message(tmp_path):
    import threading

    own = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                                   silence_logs=50)
    backend = dask_backend.connect(own.scheduler_address, None)
    try:
        from forecasts import executor

        threading.Timer(1.5, lambda: own.sync(own.scheduler.close)).start()  # the scheduler goes away mid-run
        with executor.using(backend), pytest.raises(dask_backend.UserError,
                                                    match=r"lost the Dask scheduler at tcp://\S+ mid-run \(\d+ of 20 "
                                                          r"chunks unfinished\): nothing was stored"):
            map_series(slow_square, list(range(20)), workers=1, chunk_size=1)
    finally:
        backend.close()
        with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):  # its nanny would wait 30 s to say goodbye
            own.close()
