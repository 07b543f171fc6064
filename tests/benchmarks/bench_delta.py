"""Daily-delta benchmark: a small load into a large database, against DuckDB's own insert of the
same rows and against the whole-copy writer this project used before the standby.

    nice .venv/bin/python tests/benchmarks/bench_delta.py --tickets 10000000   # uses /tmp/aftersales-bench-10000000.duckdb
    nice .venv/bin/python tests/benchmarks/bench_delta.py --tickets 20000      # a quick sanity run

The database (``--db``, default /tmp/aftersales-bench-N.duckdb, built as bench_metrics.py builds it
when missing, derived tables included) is copied to ``--work`` once and never modified. A delta is
``--delta`` tickets drawn from the database's own last week, given new ids and moved a week on,
with their visits, parts used and surveys (four Parquet files; a day of new tickets, each complete).
Each step runs in a fresh process, timed from before the import of the loader to its end:
  raw      DuckDB alone: open the database, INSERT the four files' rows, CHECKPOINT, close
  standby  `load_paths` of the delta: the writer brings the standby up to date, then stages,
           validates, merges, patches the derived tables and publishes (the new path)
  copy     the same with the standby removed first: the writer copies the whole database (the
           path every load took before, and the fallback now)
Printed: wall and CPU per step, how the work file was prepared (bytes synced or copied, seconds),
the 1-minute load average, and the ratios standby / raw and standby / copy.
Targets (issue 18): standby within 5 s and within 2x raw at 10M tickets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FACT_TABLES = ["tickets", "visits", "parts_used", "surveys"]
KEYS = {"tickets": ["ticket_id"], "visits": ["ticket_id", "visit_id"], "parts_used": ["ticket_id", "visit_id"],
        "surveys": ["ticket_id", "survey_id"]}

CHILD = r"""
import json, os, resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
mode, db, src = sys.argv[1], sys.argv[2], sys.argv[3]
facts = {facts!r}
out = {{}}
if mode == "raw":
    import duckdb
    t1 = time.perf_counter()
    con = duckdb.connect(db)
    con.execute("SET enable_progress_bar = false")
    rows = 0
    for t in facts:
        cols = [c for (c,) in con.execute("SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet($p))",
                                          {{"p": f"{{src}}/{{t}}.parquet"}}).fetchall()]
        names = ", ".join(cols)
        con.execute(f"INSERT INTO {{t}} ({{names}}) SELECT {{names}} FROM read_parquet($p)", {{"p": f"{{src}}/{{t}}.parquet"}})
        rows += con.execute("SELECT count(*) FROM read_parquet($p)", {{"p": f"{{src}}/{{t}}.parquet"}}).fetchall()[0][0]
    con.execute("CHECKPOINT")
    con.close()
else:
    from pathlib import Path
    import aftersales.db as adb
    import aftersales.standby as sb
    from pipelines.load import load_paths
    t1 = time.perf_counter()
    prep = {{}}
    real_prepare, real_sync, real_copy = adb.prepare_work, sb.sync, sb.copy_whole
    def prepare(*a, **k):
        s = time.perf_counter(); r = real_prepare(*a, **k)
        prep.setdefault("prepare_s", []).append(time.perf_counter() - s); return r
    def sync(*a, **k):
        n = real_sync(*a, **k); prep.setdefault("synced", []).append(n); return n
    def copy(live, work):
        real_copy(live, work); prep.setdefault("copied", []).append(Path(live).stat().st_size)
    adb.prepare_work, sb.sync, sb.copy_whole = prepare, sync, copy
    import pipelines.load as L
    real_refresh = L.derive.refresh
    def refresh(*a, **k):  # the derived tables' patch, inside the load's session
        s = time.perf_counter(); r = real_refresh(*a, **k)
        prep.setdefault("patch_s", []).append(time.perf_counter() - s); return r
    L.derive.refresh = refresh
    res = load_paths(Path(db), [Path(src) / f"{{t}}.parquet" for t in facts], show_progress=False)
    assert all(r.rows_read == r.inserted + r.updated + r.unchanged + r.quarantined for r in res)
    assert all(r.quarantined == 0 for r in res), [r.summary() for r in res]
    rows = sum(r.inserted for r in res)
    out.update(prep)
use = resource.getrusage(resource.RUSAGE_SELF)
out.update(seconds=time.perf_counter() - t0, work=time.perf_counter() - t1, cpu=use.ru_utime + use.ru_stime,
           rows=rows, load=os.getloadavg()[0])
print(json.dumps(out))
"""


def run_child(mode: str, db: Path, src: Path) -> dict:
    code = CHILD.format(root=str(ROOT), facts=FACT_TABLES)
    done = subprocess.run([sys.executable, "-c", code, mode, str(db), str(src)], capture_output=True, text=True,
                          cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{mode} step failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def make_delta(db: Path, out: Path, n: int, prefix: str) -> dict[str, int]:
    """``n`` tickets of the database's last week, new ids (``prefix`` + id) and timestamps a week
    on, with their visits, parts used and surveys, as Parquet files named after their tables."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("ATTACH $db AS live (READ_ONLY)", {"db": str(db)})
    con.execute("""CREATE TABLE pick AS SELECT ticket_id FROM live.tickets
        WHERE created_at >= (SELECT max(created_at) FROM live.tickets) - INTERVAL 7 DAY
        ORDER BY hash(ticket_id) LIMIT $n""", {"n": n})
    counts = {}
    for t in FACT_TABLES:  # table names from the fixed list above
        cols = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'live' "
                           "AND table_name = $t ORDER BY column_index", {"t": t}).fetchall()
        sel = [f"$pre || {c} AS {c}" if c in KEYS[t] else
               f"{c} + INTERVAL 7 DAY AS {c}" if typ.startswith("TIMESTAMP") else c
               for c, typ in cols if not c.startswith("_")]
        target = out / f"{t}.parquet"
        con.execute(f"COPY (SELECT {', '.join(sel)} FROM live.{t} WHERE ticket_id IN (SELECT ticket_id FROM pick)) "
                    f"TO '{target}' (FORMAT parquet)", {"pre": prefix})
        counts[t] = con.execute("SELECT count(*) FROM read_parquet($p)", {"p": str(target)}).fetchall()[0][0]
    con.close()
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=10_000_000)
    ap.add_argument("--db", help="database to start from (default /tmp/aftersales-bench-<tickets>.duckdb); never modified")
    ap.add_argument("--work", default="/tmp/bench_delta")
    ap.add_argument("--delta", type=int, default=1000, help="tickets per delta (default 1,000)")
    ap.add_argument("--rounds", type=int, default=3, help="standby loads (and raw inserts) to time")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

    source = Path(args.db or f"/tmp/aftersales-bench-{args.tickets}.duckdb")
    if not source.exists():
        from bench_metrics import ensure_db, ensure_facts
        ensure_db(source, args.tickets, seed=1)
        ensure_facts(source)
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    (work / "live").mkdir(parents=True)
    (work / "raw").mkdir()
    live, raw = work / "live" / "aftersales.duckdb", work / "raw" / "raw.duckdb"
    shutil.copyfile(source, live)
    shutil.copyfile(source, raw)
    deltas = []
    for i in range(args.rounds + 2):
        counts = make_delta(source, work / f"delta{i}", args.delta, f"Z{i}-")
        deltas.append(work / f"delta{i}")
    print(f"machine: {_machine()}")
    print(f"database: {source} ({source.stat().st_size / 2**30:.2f} GiB); delta: "
          + ", ".join(f"{n:,} {t}" for t, n in counts.items()))

    # The first load has no standby yet: it copies, like every load before, and leaves one.
    first = run_child("load", live, deltas[0])
    standby, raws = [], []
    for i in range(1, args.rounds + 1):
        raws.append(run_child("raw", raw, deltas[i]))
        standby.append(run_child("load", live, deltas[i]))
    # The whole-copy path again, on a warm machine: the standby removed, as after a fallback.
    (live.parent / f".{live.name}.standby").unlink()
    copy = run_child("load", live, deltas[args.rounds + 1])

    def line(name: str, r: dict) -> str:
        how = ""
        if r.get("synced"):
            how = f"synced {sum(r['synced']) / 2**20:,.1f} MB"
        if r.get("copied"):
            how += (", " if how else "") + f"copied {sum(r['copied']) / 2**30:,.2f} GiB"
        if r.get("prepare_s"):
            how += f" in {sum(r['prepare_s']):.2f} s ({len(r['prepare_s'])} session(s))"
        if r.get("patch_s"):
            how += f"; derived tables {sum(r['patch_s']):.2f} s"
        return (f"  {name:<28} {r['seconds']:7.2f} s  after imports {r['work']:7.2f} s  cpu {r['cpu']:6.2f} s  "
                f"load average {r['load']:4.1f}"
                f"{'  ' + how if how else ''}")

    print(line("first load (copies)", first))
    for i, (r, s) in enumerate(zip(raws, standby, strict=True), 1):
        print(line(f"raw DuckDB insert #{i}", r))
        print(line(f"standby load #{i}", s))
    print(line("copy load (standby removed)", copy))
    s_wall = statistics.median(x["seconds"] for x in standby)
    s_cpu = statistics.median(x["cpu"] for x in standby)
    r_wall = statistics.median(x["seconds"] for x in raws)
    r_cpu = statistics.median(x["cpu"] for x in raws)
    s_work = statistics.median(x["work"] for x in standby)
    r_work = statistics.median(x["work"] for x in raws)
    print(f"  median standby load {s_wall:.2f} s, {s_work:.2f} s after imports "
          f"(target <= 5 s: {'met' if s_wall <= 5 else 'missed'}); cpu {s_cpu:.2f} s")
    print(f"  ratio standby / raw insert = {s_wall / r_wall:.2f}x wall, {s_work / r_work:.2f}x after imports, "
          f"{s_cpu / r_cpu:.2f}x cpu (target <= 2.0x: {'met' if s_wall / r_wall <= 2 else 'missed'})")
    s_rest = statistics.median(x["work"] - sum(x.get("patch_s", [])) for x in standby)
    print(f"  standby load without the derived tables' patch {s_rest:.2f} s after imports: "
          f"{s_rest / r_work:.2f}x the raw insert after imports")
    print(f"  ratio standby / copy path  = {s_wall / copy['seconds']:.2f}x wall, "
          f"{s_work / copy['work']:.2f}x after imports, {s_cpu / copy['cpu']:.2f}x cpu")


def _machine() -> str:
    import platform

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GB RAM, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
