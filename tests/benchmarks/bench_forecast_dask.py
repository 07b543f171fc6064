"""Forecasts on Dask against the local executor: series per second at 1 and 2 workers.

    .venv/bin/python tests/benchmarks/bench_forecast_dask.py                 # 24 daily series (~10 min on 2 cores)
    .venv/bin/python tests/benchmarks/bench_forecast_dask.py --series 48 --parts 4000
    .venv/bin/python tests/benchmarks/bench_forecast_dask.py --scheduler tcp://HOST:8786   # a real cluster too

The same ``run_workload.forecast`` (every model, its backtest origins and the final fit) over
seeded synthetic daily series, run four ways: in this process (workers=1), the local process pool
(workers=2), and a Dask LocalCluster of 1 and of 2 single-threaded worker processes. Each Dask
cluster is started and warmed (one series through it: the workers import Prophet and compile
statsforecast's numba code once, as a long-lived cluster does) before the timed run; the pool
starts its processes inside every run, as ``aftersales forecast`` does. Optionally the parts
fan-out too (``--parts N`` weekly parts, sent out in batches). Printed: wall and CPU seconds,
series per second, the 1 → 2 worker scaling of each executor, and Dask ÷ local; the load average
before and after each run says how much of the machine the run had.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import logging
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from forecasts import dask_backend, executor, run_parts, run_workload, synthetic  # noqa: E402
from forecasts.settings import section  # noqa: E402


def cpu_seconds() -> float:
    """This process and every child it has reaped (the pool's processes; a LocalCluster's workers
    are reaped only when it closes, so a Dask run's CPU is its workers', asked from them)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _worker_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(label: str, n: int, run, backend=None) -> dict[str, float]:
    load0 = os.getloadavg()[0]
    cpu0 = cpu_seconds() + (sum(backend.client.run(_worker_cpu).values()) if backend else 0.0)
    t0 = time.perf_counter()
    run()
    wall = time.perf_counter() - t0
    cpu = cpu_seconds() + (sum(backend.client.run(_worker_cpu).values()) if backend else 0.0) - cpu0
    load1 = os.getloadavg()[0]
    print(f"  {label:<34} {wall:8.1f} s wall  {cpu:8.1f} s CPU  {n / wall:7.2f} series/s   load {load0:.1f} → {load1:.1f}",
          flush=True)
    return {"wall": wall, "cpu": cpu, "rate": n / wall}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=24, help="daily workload series (default 24)")
    ap.add_argument("--origins", type=int, default=2, help="backtest origins per series (default 2)")
    ap.add_argument("--parts", type=int, default=0, help="also this many weekly parts (default none)")
    ap.add_argument("--scheduler", help="also time a running cluster at this address")
    args = ap.parse_args()
    executor.quiet()
    logging.getLogger("distributed").setLevel(logging.CRITICAL)

    long = synthetic.daily_workload(n_series=args.series, seed=11, start=dt.date(2024, 1, 1), end=dt.date(2025, 12, 31))
    config = {"forecast": {"backtest_origins": args.origins, "freq": "D", "horizon_days": 28}}
    warm = long.filter(long["unique_id"] == long["unique_id"][0])
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min) at the start; "
          f"{args.series} daily series 2024-01-01..2025-12-31, {args.origins} backtest origins + the final fit")

    def workload(n_workers: int):
        return lambda: run_workload.forecast(long, copy.deepcopy(config), n_workers, "bench")

    results: dict[str, dict[str, float]] = {}
    print("workload (run_workload.forecast):")
    results["local 1"] = timed("local, in-process", args.series, workload(1))
    results["local 2"] = timed("local pool, 2 processes", args.series, workload(2))
    for n in (1, 2):
        with dask_backend.cluster(None, n) as backend, executor.using(backend):
            t0 = time.perf_counter()
            run_workload.forecast(warm, copy.deepcopy(config), backend.workers, "bench")
            print(f"  (Dask {n} worker(s): started and warmed in {time.perf_counter() - t0:.1f} s)", flush=True)
            results[f"dask {n}"] = timed(f"Dask LocalCluster, {n} worker(s)", args.series, workload(backend.workers),
                                         backend)
    if args.scheduler:
        with dask_backend.cluster(args.scheduler, None) as backend:
            results["remote"] = timed(backend.describe(), args.series, workload(backend.workers), backend)

    print("scaling 1 → 2 workers (series/s ratio): local {:.2f}×, Dask {:.2f}×".format(
        results["local 2"]["rate"] / results["local 1"]["rate"], results["dask 2"]["rate"] / results["dask 1"]["rate"]))
    print("Dask ÷ local at 2 workers (series/s): {:.2f}; CPU per series: local pool {:.2f} s, Dask {:.2f} s".format(
        results["dask 2"]["rate"] / results["local 2"]["rate"], results["local 2"]["cpu"] / args.series,
        results["dask 2"]["cpu"] / args.series))

    if args.parts:
        demand, _ = synthetic.weekly_parts(n_series=args.parts, seed=5)
        ps = {"backtest_origins": 2, "freq": "W", "parallel_min_series": 1}
        print(f"parts fan-out (run_parts._fan_out, {args.parts} weekly parts in batches):")
        part = {}
        part["local 1"] = timed("local, in-process", args.parts,
                                lambda: run_parts._fan_out(demand, {**section({}, "parts"), **ps}, 1))
        part["local 2"] = timed("local pool, 2 processes", args.parts,
                                lambda: run_parts._fan_out(demand, {**section({}, "parts"), **ps}, 2))
        for n in (1, 2):
            with dask_backend.cluster(None, n) as backend, executor.using(backend):
                run_parts._fan_out(demand.head(2000), {**section({}, "parts"), **ps}, backend.workers)  # warm
                part[f"dask {n}"] = timed(f"Dask LocalCluster, {n} worker(s)", args.parts,
                                          lambda: run_parts._fan_out(demand, {**section({}, "parts"), **ps},
                                                                     backend.workers), backend)
        print("parts scaling 1 → 2 workers: local {:.2f}×, Dask {:.2f}×; Dask ÷ local at 2: {:.2f}".format(
            part["local 2"]["rate"] / part["local 1"]["rate"], part["dask 2"]["rate"] / part["dask 1"]["rate"],
            part["dask 2"]["rate"] / part["local 2"]["rate"]))
    print(f"load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1 / 5 / 15 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
