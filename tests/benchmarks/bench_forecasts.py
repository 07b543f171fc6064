"""Forecast benchmark: accuracy on the sample data against the issue's targets, and speed.

    .venv/bin/python tests/benchmarks/bench_forecasts.py            # everything (~30 min on 2 cores)
    .venv/bin/python tests/benchmarks/bench_forecasts.py --skip-accuracy --workers 2   # speed only
    .venv/bin/python tests/benchmarks/bench_forecasts.py --skip-speed --skip-workload --db COPY.duckdb  # parts only

Accuracy: the generator's sample data (100k tickets, 2024-01-01..2026-10-31, seed 42) read into
a fresh database; the workload and parts backtests exactly as `aftersales backtest` runs them.
Real data: the workload backtest and forecast of every set under tests/benchmarks/realdata
(``workload_realdata.py``), beside the sample's figures in the same table.
Speed: 1,000 weekly part series and 100 daily workload series (seeded synthetic series of the
sample's length: the sample has ~300 parts and ~50 workload series) through `forecast`, at 1 and
2 worker processes, beside a reference in the same process (the bare library calls: one
statsforecast pass over the parts, one Prophet fit per workload series) so the ratio survives a
busier or quieter machine. Wall and CPU seconds are both printed: on a shared machine the load
average says how far wall time can be trusted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402
import workload_realdata  # noqa: E402  (beside this file)

from aftersales import model  # noqa: E402
from forecasts import parts_backtest, run_parts, run_workload, series, staffing, store, synthetic  # noqa: E402
from forecasts.executor import quiet  # noqa: E402
from forecasts.settings import section  # noqa: E402


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Timer:
    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, cpu_seconds() - self.cpu


def machine() -> dict[str, object]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = next((int(ln.split()[1]) // 1024 // 1024 for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal")), None)
    import prophet
    import statsforecast
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": mem, "python": platform.python_version(),
            "prophet": prophet.__version__, "statsforecast": statsforecast.__version__,
            "duckdb": duckdb.__version__, "polars": pl.__version__, "load_avg_1m": os.getloadavg()[0]}


def sample_db(workdir: Path, tickets: int, seed: int) -> Path:
    from pipelines.generate import generate

    generate(workdir / "pq", tickets=tickets, seed=seed, end="2026-10-31", progress=False)
    db = workdir / "sample.duckdb"
    db.unlink(missing_ok=True)  # a reused workdir's database has an older model's tables
    con = duckdb.connect(str(db))
    con.execute(model.ddl())
    for t in model.TABLES.values():
        f = workdir / "pq" / f"{t.name}.parquet"
        if f.exists():
            cols = ", ".join(t.column_names)
            con.execute(f"INSERT INTO {t.name} ({cols}) SELECT {cols} FROM read_parquet($f)", {"f": str(f)})
    con.close()
    return db


def accuracy(db: Path, workers: int, config: dict, workload: bool = True) -> dict[str, object]:
    con = duckdb.connect(str(db), read_only=True)
    long = series.workload_series(con, section(config, "forecast")["series"])
    hours = staffing.hours_per_ticket(series.visit_stats(con), section(config, "staffing"))
    techs = series.technicians_by_region(con)
    plong, master = series.part_series(con), series.parts_master(con)
    since = master["as_of"].drop_nulls().min()
    used = series.parts_used_since(con, since)
    last_day = series._scalar(con, "SELECT max(started_at)::DATE FROM visits")
    con.close()
    out: dict[str, object] = {}
    if workload:
        with Timer() as t:
            wl = run_workload.backtest(long, config, workers, "database")
        store.save_run(db, wl)
        out["workload_backtest"] = {**wl.summary, "wall_s": t.wall, "cpu_s": t.cpu}
        out["workload_figures"] = sample_workload_figures(long, wl, t.cpu, config, workers)
        scores = wl.tables["backtest_scores"].filter(pl.col("unique_id") == "*")
        out["workload_by_level"] = {
            row["scope"]: row for row in scores.filter(
                (pl.col("model") == "selected") & pl.col("metric").is_in(
                    ["mase_rel_snaive7", "coverage_80", "coverage_95", "mase_rel_naive364", "mae_rel_naive364_volume"]))
            .pivot(on="metric", index="scope", values="value").iter_rows(named=True)}
    with Timer() as t:
        pb = parts_backtest.backtest(plong, config, workers, "database", master, oracle=True)
    store.save_run(db, pb)
    out["parts_backtest"] = {**pb.summary, "wall_s": t.wall, "cpu_s": t.cpu, "series": plong["unique_id"].n_unique(),
                             "periods": plong["ds"].n_unique(), "zero_share": float((plong["y"] == 0).mean())}
    with Timer() as t:
        fw = None
        if workload:
            fw = run_workload.forecast(long, config, workers, "database", {"hours": hours, "technicians": techs})
            store.save_run(db, fw)
        fp = run_parts.forecast(plong, config, workers, "database", master, used, last_day)
        store.save_run(db, fp)
    out["forecast_all"] = {"wall_s": t.wall, "cpu_s": t.cpu, "workload": fw.summary if fw else None,
                           "parts": fp.summary}
    return out


def sample_workload_figures(long: pl.DataFrame, run: object, backtest_cpu: float, config: dict,
                            workers: int) -> dict[str, object]:
    """The sample's workload figures in the real data sets' form (``workload_realdata.figures``),
    with the CPU seconds of a `forecast` run of the same series."""
    with Timer() as t:
        fc = run_workload.forecast(long, config, workers, "database")
    kept = long.filter(pl.col("unique_id").is_in(fc.tables["forecast_series"]["unique_id"].implode()))
    fig = workload_realdata.figures(kept, run, backtest_cpu, t.cpu)
    fig["chosen"] = fc.summary["chosen"]
    return {"label": "generated sample (China), 100k tickets", "country": "CN", **fig}


def reference_parts(long: pl.DataFrame) -> float:
    """The bare library: one StatsForecast pass of the same methods over all parts, no backtest."""
    from statsforecast import StatsForecast
    from statsforecast.models import ADIDA, IMAPA, TSB, AutoETS, CrostonSBA, SimpleExponentialSmoothingOptimized

    sf = StatsForecast(models=[CrostonSBA(), TSB(alpha_d=0.1, alpha_p=0.1), ADIDA(), IMAPA(), AutoETS(model="ZNN"),
                               SimpleExponentialSmoothingOptimized()], freq="1w", n_jobs=1)
    with Timer() as t:
        sf.forecast(df=long.with_columns(pl.col("ds").cast(pl.Datetime)), h=12)
    return t.wall


def reference_workload(long: pl.DataFrame) -> float:
    """The bare library: one plain Prophet fit and predict per series (no calendar, no backtest)."""
    quiet()
    from prophet import Prophet

    quiet()
    with Timer() as t:
        for (_,), g in long.group_by("unique_id"):
            m = Prophet(uncertainty_samples=0)
            m.fit(g.select("ds", "y").to_pandas())
            m.predict(m.make_future_dataframe(84, include_history=False))
    return t.wall


def speed(workers_list: list[int], config: dict, part_sizes: list[int], n_workload: int,
          workload: bool = True) -> dict[str, object]:
    out: dict[str, object] = {"parts_series": part_sizes, "workload_series": n_workload}
    forced = {**config, "parts": {**config.get("parts", {}), "parallel_min_series": 0}}  # pool even for few parts
    for n in part_sizes:
        plong, master = synthetic.weekly_parts(n_series=n, seed=11)
        out[f"reference_parts_{n}_s"] = reference_parts(plong)
        for w in workers_list:
            with Timer() as t:
                run_parts.forecast(plong, forced, w, "bench", master=master)
            out[f"parts_{n}_forecast_{w}w"] = {"wall_s": t.wall, "cpu_s": t.cpu}
    if workload:
        wlong = synthetic.daily_workload(n_series=n_workload, seed=12)
        out["reference_workload_s"] = reference_workload(wlong)
        for w in workers_list:
            with Timer() as t:
                run_workload.forecast(wlong, config, w, "bench")
            out[f"workload_forecast_{w}w"] = {"wall_s": t.wall, "cpu_s": t.cpu}
    return out


# ---- spare parts on real data (the parts side of issue 14) ---------------------------------------

REALDATA = ROOT / "tests" / "benchmarks" / "realdata"
PARTS_SETS = {"raf_spares": "M", "man_spares": "W", "online_retail": "W"}  # name -> frequency (see each SOURCE.md)
# Online Retail has 52 weeks: the defaults (4 origins of 12 weeks, 52-week simulation windows) need
# about two years, so its origins and simulation windows are shorter.
PARTS_OVERRIDES = {"online_retail": {"horizon_weeks": 8, "sim_weeks": 20}}


def parts_realdata(workers: int, config: dict, names: list[str], limit: int = 0) -> dict[str, object]:
    """The nested parts backtest (with both oracles) and a timed ``forecast`` on each real set."""
    out: dict[str, object] = {}
    for name in names:
        freq = PARTS_SETS[name]
        long = pl.read_parquet(REALDATA / name / "demand.parquet")
        if limit:
            long = long.filter(pl.col("unique_id").is_in(long["unique_id"].unique().sort()[:limit].implode()))
        forced = {**config, "parts": {**config.get("parts", {}), **PARTS_OVERRIDES.get(name, {}),
                                      "parallel_min_series": 0}}  # pool even for 1,000
        with Timer() as t:
            bt = parts_backtest.backtest(long, forced, workers, f"realdata:{name}", None, freq=freq, oracle=True)
        with Timer() as tf:
            fc = run_parts.forecast(long, forced, workers, f"realdata:{name}", freq=freq)
        out[name] = {**bt.summary, **unprecedented(long, bt.tables.get("inventory_sim"), forced, freq),
                     **{f"forecast_{k}": fc.summary.get(k) for k in
                                      ("policy_by_class", "policy_source", "policy_fill_outer")}, "series": long["unique_id"].n_unique(), "freq": freq,
                     "periods": long["ds"].n_unique(), "zero_share": float((long["y"] == 0).mean()),
                     "backtest_wall_s": t.wall, "backtest_cpu_s": t.cpu,
                     "forecast_wall_s": tf.wall, "forecast_cpu_s": tf.cpu, "workers": workers}
    return out


def unprecedented(long: pl.DataFrame, sim: pl.DataFrame | None, config: dict, freq: str,
                  factor: float = 3.0) -> dict[str, float]:
    """A measured floor for the fill rate: the parts whose scored (outer) window holds a period
    more than ``factor`` times every period of their history before it (a season the history has
    not seen, such as Online Retail's Christmas goods), their share of the outer demand and of the
    policy's shortfall, and the policy's fill on the other parts. No reorder policy read off the
    history plans for such a period without stocking every part for it."""
    if sim is None or sim.is_empty():
        return {}
    from forecasts import parts
    from forecasts.settings import section

    length = parts.periods(section(config, "parts")["sim_weeks"], freq)
    new = set()
    for (uid,), g in long.sort("ds").group_by("unique_id"):
        y = g["y"].to_numpy()
        if len(y) > length and y[-length:].max() > factor * max(y[:-length].max(), 0.0):
            new.add(str(uid))
    c = sim.filter(pl.col("policy") == "count").with_columns(pl.col("part_no").is_in(list(new)).alias("_new"))
    demand, short = c["demand"].sum(), (c["demand"] - c["filled"]).sum()
    rest = c.filter(~pl.col("_new"))
    return {"unprecedented_parts": float(c["_new"].sum()), "unprecedented_demand_share": c.filter("_new")["demand"].sum() / demand
            if demand else None,
            "unprecedented_shortfall_share": (c.filter("_new")["demand"] - c.filter("_new")["filled"]).sum() / short
            if short else None,
            "fill_rate_other_parts": rest["filled"].sum() / rest["demand"].sum() if rest["demand"].sum() else None}


def report_parts(sets: dict[str, dict]) -> list[str]:
    """README-ready rows for the parts targets of issue 14, one column per data set."""
    def f(v: object, nd: int = 3) -> str:
        return "—" if v is None else f"{v:.{nd}f}" if isinstance(v, float) else str(v)

    def ratio(a: object, b: object) -> float | None:
        return a / b if isinstance(a, float | int) and isinstance(b, float | int) and b else None

    names = list(sets)
    rows = [
        ("series × periods (frequency), zero share", lambda p: f"{p.get('series', '—')} × {p.get('periods', '—')} "
                                                               f"({p.get('freq', 'W')}), {f(p.get('zero_share'), 2)}", ""),
        ("MASE ÷ zero forecast (outer windows)", lambda p: f(p.get("mase_rel_zero")), "≤ 1"),
        ("MASE ÷ seasonal naive (lag 52 / 12)", lambda p: f(p.get("mase_rel_snaive")), "< 1"),
        ("MASE ÷ SES", lambda p: f(p.get("mase_rel_ses")), ""),
        ("point forecast used per class", lambda p: ", ".join(f"{k} {v}" for k, v in (p.get("methods") or {}).items()
                                                               if k != "no_demand"), ""),
        ("bias of the point forecast, (Σforecast − Σactual) ÷ Σactual", lambda p: f(p.get("bias")), ""),
        ("bias of the mean the policy plans with (method per class)", lambda p: f"{f(p.get('rate_bias'))} (" + ", ".join(
            f"{k} {v}" for k, v in (p.get("rate_methods") or {}).items() if k != "no_demand") + ")", ""),
        ("fill rate, policy (all parts)", lambda p: f(p.get("fill_rate")), "0.93–0.97"),
        ("  baseline SES + normal", lambda p: f(p.get("baseline_fill_rate")), ""),
        ("fill rate, policy (lumpy parts)", lambda p: f(p.get("lumpy_fill_rate")), ""),
        ("  baseline (lumpy parts)", lambda p: f(p.get("lumpy_baseline_fill_rate")), ""),
        ("mean stock ÷ baseline (all parts)", lambda p: f(ratio(p.get("mean_stock_units"),
                                                                p.get("baseline_mean_stock_units"))), "≤ 1"),
        ("mean stock ÷ baseline (lumpy parts)", lambda p: f(ratio(p.get("lumpy_mean_stock_units"),
                                                                  p.get("lumpy_baseline_mean_stock_units"))), ""),
        ("mean stock ÷ oracle knowing each part's distribution (all parts)",
         lambda p: f(ratio(p.get("mean_stock_units"), p.get("dist_oracle_mean_stock_units"))), "toward 1"),
        ("oracle knowing each part's demand distribution: stock for 95% ÷ baseline",
         lambda p: f(ratio(p.get("dist_oracle_mean_stock_units"), p.get("baseline_mean_stock_units"))), ""),
        ("baseline planned higher (99%–99.999%): its stock at 95% fill ÷ baseline",
         lambda p: "its fill is already above" if (p.get("baseline_fill_rate") or 0) >= p.get("target_fill_rate", 0.95)
         else f(ratio(p.get("baseline_stock_at_target"), p.get("baseline_mean_stock_units")))
         if p.get("baseline_stock_at_target") is not None else
         f"not reached (best {f((p.get('baseline_curve') or [[None]])[-1][0])})", ""),
        ("hindsight oracle (knows the demand itself): stock for 95% ÷ baseline",
         lambda p: f(ratio(p.get("oracle_mean_stock_units"), p.get("baseline_mean_stock_units"))), ""),
        ("parts with a scored period > 3× every period before it: parts, share of demand / of the shortfall",
         lambda p: f"{f(p.get('unprecedented_parts'), 0)}, {f(p.get('unprecedented_demand_share'))} / "
                   f"{f(p.get('unprecedented_shortfall_share'))}", ""),
        ("  fill rate of the policy on the other parts", lambda p: f(p.get("fill_rate_other_parts")), ""),
        ("policy per class (distribution:margin)", lambda p: ", ".join(f"{k} {v}" for k, v in
                                                                        (p.get("policy_by_class") or {}).items()), ""),
        ("forecast parts: policy per class (where from)", lambda p: ", ".join(
            f"{k} {v} ({(p.get('forecast_policy_source') or {}).get(k, '—')})"
            for k, v in (p.get("forecast_policy_by_class") or {}).items()), "= backtest's"),
        ("forecast parts: its policies' outer fill (parts sampled), policy / baseline",
         lambda p: (lambda a: f"{f(a.get('fill_rate'))} / {f(a.get('baseline_fill_rate'))} ({f(a.get('parts'), 0)})")(
             (p.get("forecast_policy_fill_outer") or {}).get("all") or {}), ""),
        ("backtest / forecast wall s (workers)", lambda p: f"{f(p.get('backtest_wall_s'), 0)} / "
                                                           f"{f(p.get('forecast_wall_s'), 1)} ({p.get('workers', '—')})"
         if "forecast_wall_s" in p else f"{f(p.get('wall_s'), 0)} / —", ""),
    ]
    lines = ["", "| parts figure | " + " | ".join(names) + " | target |", "|---|" + "---|" * len(names) + "---|"]
    for label, get, target in rows:
        lines.append(f"| {label} | " + " | ".join(get(sets[n]) for n in names) + f" | {target} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="workers for the accuracy runs")
    ap.add_argument("--speed-workers", default="1,2", help="worker counts to time, e.g. 1,2")
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--parts", default="1000,5000", help="part series counts to time, e.g. 1000,5000")
    ap.add_argument("--workload-series", type=int, default=100)
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-realdata", action="store_true", help="skip the workload backtests on tests/benchmarks/realdata")
    ap.add_argument("--skip-workload-speed", action="store_true")
    ap.add_argument("--skip-workload", action="store_true",
                    help="accuracy: parts backtest and parts forecast only (no workload backtest or forecast)")
    ap.add_argument("--db", metavar="FILE", help="accuracy on this existing sample database instead of generating "
                    "one (runs are saved into it: pass a copy)")
    ap.add_argument("--keep", metavar="DIR", help="keep the sample data and database here")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--parts-realdata", default=",".join(PARTS_SETS),
                    help="real spare-part sets to backtest (tests/benchmarks/realdata), comma-separated; '' for none")
    ap.add_argument("--parts-realdata-only", action="store_true",
                    help="only the real-data parts backtests (no sample, no speed runs)")
    ap.add_argument("--parts-limit", type=int, default=0, help="real parts sets: the first N series only (0 = all)")
    args = ap.parse_args()
    quiet()
    results: dict[str, object] = {"machine": machine()}
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_forecasts_"))
    work.mkdir(parents=True, exist_ok=True)
    config: dict = {}
    names = [n for n in args.parts_realdata.split(",") if n]
    if names:
        results["parts_realdata"] = parts_realdata(args.workers, config, names, args.parts_limit)
    if args.parts_realdata_only:
        args.skip_accuracy = args.skip_speed = True
    if not args.skip_accuracy:
        db = Path(args.db) if args.db else sample_db(work, args.tickets, args.seed)
        results["accuracy"] = accuracy(db, args.workers, config, workload=not args.skip_workload)
    if not args.skip_realdata and not args.skip_workload:
        results["workload_realdata"] = workload_realdata.realdata(1)  # one process: CPU s per series comparable
    if not args.skip_speed:
        results["speed"] = speed([int(w) for w in args.speed_workers.split(",")], config,
                                 [int(n) for n in args.parts.split(",")], args.workload_series,
                                 workload=not args.skip_workload_speed)
    results["machine"]["load_avg_1m_end"] = os.getloadavg()[0]  # type: ignore[index]
    text = json.dumps(results, indent=2, default=str, ensure_ascii=False)
    print(text)
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")
    report(results)


def report(r: dict) -> None:
    """The figures against the issue's targets, as README-ready lines."""
    def f(v: object, nd: int = 3) -> str:
        return "—" if v is None else f"{v:.{nd}f}" if isinstance(v, float) else str(v)

    lines = ["", "| figure | value | target | met |", "|---|---|---|---|"]

    def row(name: str, v: object, target: str, ok: bool | None) -> None:
        lines.append(f"| {name} | {f(v)} | {target} | {'' if ok is None else 'yes' if ok else 'no'} |")

    acc = r.get("accuracy") or {}
    w, p = acc.get("workload_backtest"), acc.get("parts_backtest")
    if w:
        row("workload MASE ÷ seasonal-naive MASE (model used, nested backtest)", w["mase_rel_snaive7"], "≤ 0.85",
            w["mase_rel_snaive7"] is not None and w["mase_rel_snaive7"] <= 0.85)
        row(f"workload MASE ÷ best single baseline ({w.get('best_baseline')})", w.get("mase_rel_best_baseline"), "≤ 1",
            w.get("mase_rel_best_baseline") is not None and w["mase_rel_best_baseline"] <= 1)
        row("event windows: MAE ÷ lag-364 naive MAE, volume-weighted", w["event_mae_rel_naive364_volume"], "≤ 0.70",
            w["event_mae_rel_naive364_volume"] is not None and w["event_mae_rel_naive364_volume"] <= 0.70)
        row("event windows: mean per-series MASE ratio", w["event_mase_rel_naive364"], "≤ 0.70",
            w["event_mase_rel_naive364"] is not None and w["event_mase_rel_naive364"] <= 0.70)
        row("80% interval coverage", w["coverage_80"], "0.75–0.85",
            w["coverage_80"] is not None and 0.75 <= w["coverage_80"] <= 0.85)
        row("95% interval coverage", w["coverage_95"], "0.90–0.98",
            w["coverage_95"] is not None and 0.90 <= w["coverage_95"] <= 0.98)
        row("raw Prophet 80% / 95% coverage (for comparison)",
            f"{f(w['raw_prophet_coverage_80'])} / {f(w['raw_prophet_coverage_95'])}", "", None)
    if p:
        target = p["target_fill_rate"]
        row("parts: simulated fill rate of the reorder policy", p["fill_rate"], f"{target:.2f} ± 0.02",
            p["fill_rate"] is not None and abs(p["fill_rate"] - target) <= 0.02)
        row("parts: mean stock, policy ÷ baseline", (p["mean_stock_units"] or 0) / (p["baseline_mean_stock_units"] or 1),
            "≤ 1", (p["mean_stock_units"] or 0) <= (p["baseline_mean_stock_units"] or 0))
        row("parts: baseline (SES + normal) fill rate", p["baseline_fill_rate"], "", None)
        row("parts: bias of the methods used", p["bias"], "within ±0.10", p["bias"] is not None and abs(p["bias"]) <= 0.10)
        row("parts: RMSSE ÷ naive / SES / zero",
            f"{f(p['rmsse_rel_naive'])} / {f(p['rmsse_rel_ses'])} / {f(p['rmsse_rel_zero'])}", "< 1", None)
    if w:
        lines.append("")
        lines.append("| level | MASE ÷ snaive7 | cov 80 | cov 95 | events MASE ÷ naive364 | events MAE ÷ naive364 (volume) |")
        lines.append("|---|---|---|---|---|---|")
        lv = acc["workload_by_level"]
        for level in ("total", "region", "region_service"):
            a, e = lv.get(f"rolling:{level}", {}), lv.get(f"event:all:{level}", {})
            lines.append(f"| {level} | {f(a.get('mase_rel_snaive7'))} | {f(a.get('coverage_80'))} | "
                         f"{f(a.get('coverage_95'))} | {f(e.get('mase_rel_naive364'))} | "
                         f"{f(e.get('mae_rel_naive364_volume'))} |")
    sets = {**(r.get("workload_realdata") or {})}
    if acc.get("workload_figures"):
        sets["sample"] = acc["workload_figures"]
    if sets:
        lines += workload_realdata.report_lines(sets)
    sp = r.get("speed")
    if sp:
        lines += ["", "| speed | 1 worker | 2 workers | reference (bare library, 1 process) |", "|---|---|---|---|"]
        rows = [(f"{n} parts series", f"parts_{n}", f"reference_parts_{n}_s") for n in sp["parts_series"]]
        rows.append((f"{sp['workload_series']} workload series", "workload", "reference_workload_s"))
        for label, key, ref in rows:
            one, two = sp.get(f"{key}_forecast_1w"), sp.get(f"{key}_forecast_2w")
            if one is None and two is None:
                continue
            one, two = one or {}, two or {}
            lines.append(f"| {label}, `forecast` | {f(one.get('wall_s'), 1)} s (cpu {f(one.get('cpu_s'), 1)}) | "
                         f"{f(two.get('wall_s'), 1)} s (cpu {f(two.get('cpu_s'), 1)}) | {f(sp.get(ref), 1)} s |")
        wl_one = sp.get("workload_forecast_1w")
        if wl_one:  # issue 14 item 7: a 3-year daily series fitted, backtested and calibrated in <= 1 s of CPU
            lines.append(f"\nWorkload `forecast` CPU per series (1 process, fit + nested backtest + calibration): "
                         f"{wl_one['cpu_s'] / sp['workload_series']:.2f} s (target ≤ 1 s)")
        for n in sp["parts_series"]:  # issue 14 item 7: 1,000 weekly or monthly parts within 30 s on 2 cores
            runs = [sp.get(f"parts_{n}_forecast_{w}w") for w in (1, 2)]
            best = min((x["wall_s"] for x in runs if x), default=None)
            if best is not None and n <= 1000:
                lines.append(f"\nParts `forecast`, {n} weekly series: {best:.1f} s wall, the faster of 1 and 2 "
                             f"workers (target ≤ 30 s for 1,000)")
    if r.get("parts_realdata") or p:
        sets = dict(r.get("parts_realdata") or {})
        if p:
            sets["sample"] = {**p, "methods": p.get("methods")}
        lines += report_parts(sets)
    m = r["machine"]
    lines.append(f"\nMachine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB; Python {m['python']}, "
                 f"Prophet {m['prophet']}, statsforecast {m['statsforecast']}; 1-min load average "
                 f"{m['load_avg_1m']:.1f} at start, {m.get('load_avg_1m_end', 0):.1f} at end.")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
