"""Loading export files into the canonical tables: read → stage and validate → quarantine → fold →
merge → ledger, each file in its own transaction (docs/MAPPING.md describes the rules and counts)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from tqdm import tqdm

from aftersales import model
from aftersales.config import DEFAULTS, memory_budget_bytes
from aftersales.db import disk_full_message, fetch_one, peak_rss_bytes, writer
from aftersales.errors import UserError, clip, first_line, is_disk_full
from pipelines import derive, fold, hints
from pipelines.clean import register_functions
from pipelines.mapping import TIE_LAST_ROW, Mapping, all_mappings, choose_mapping
from pipelines.read import ROW, SHEET, ReadAnotherWay, file_format, read_file
from pipelines.stage import Check, StageSQL, build_stage, kept_raw, quote_ident

# Picked up from a directory; other files (README.txt, expected.json) are left alone.
DATA_SUFFIXES = {".csv", ".tsv", ".xlsx", ".xlsm", ".parquet", ".pq"}


@dataclass
class FileResult:
    path: Path
    source: str
    table: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    status: str
    seconds: float
    load_id: int
    message: str = ""

    def summary(self) -> str:
        head = "=" if self.status == "duplicate" else "✓"
        note = f" — {self.message}" if self.message else ""
        return (
            f"{head} {self.path.name} → {self.table} [{self.source}]: {self.rows_read:,} read = "
            f"{self.inserted:,} inserted + {self.updated:,} updated + {self.unchanged:,} unchanged + "
            f"{self.quarantined:,} quarantined ({self.seconds:.1f} s){note}"
        )


def _digest_and_lines(path: Path) -> tuple[str, int]:
    """The file's SHA-256 and its lines (newlines, plus an unterminated last line), in one read."""
    digest, lines, last = hashlib.sha256(), 0, b"\n"
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(4 << 20), b""):
            digest.update(block)
            lines += block.count(b"\n")
            last = block[-1:]
    return digest.hexdigest(), lines + (last != b"\n")


def _has_blank_line(path: Path) -> bool:
    tail = b""
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(4 << 20), b""):
            window = tail + block
            if b"\n\n" in window or b"\n\r\n" in window:
                return True
            tail = block[-2:]
    return False


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and the data files inside directories named (sorted by name)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in DATA_SUFFIXES and not p.name.startswith((".", "~$"))
            )
        elif path.exists():
            out.append(path)
        else:
            raise UserError(f"{path}: no such file or directory")
    if not out:
        raise UserError(f"no data files (.csv, .xlsx, .parquet) in {', '.join(map(str, paths))}")
    return out


class _Stages:
    """Progress over the stages of one file, shown only on a terminal."""

    NAMES = ["read", "validate", "quarantine", "fold", "merge", "ledger"]

    def __init__(self, label: str, show: bool):
        self.bar = tqdm(total=len(self.NAMES), desc=label, unit="stage", leave=False, disable=not show, file=sys.stderr)

    def step(self, name: str) -> None:
        self.bar.set_postfix_str(name)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


DEFAULT_MAX_QUARANTINED_SHARE = 0.5


def load_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: Mapping,
    business_tz: str,
    show_progress: bool = False,
    direct_csv: bool = True,
    max_quarantined_share: float = DEFAULT_MAX_QUARANTINED_SHARE,
    future_days: int = 1,
) -> FileResult:
    """Apply one file inside the caller's transaction. Raises UserError for file-level problems
    (including more than ``max_quarantined_share`` of its rows quarantined; the mapping's own
    `max_quarantined_share` wins), ReadAnotherWay when the caller should roll back and call again
    with direct_csv=False."""
    started = time.time()
    started_at = dt.datetime.now()
    table = mapping.table_def
    direct_csv = direct_csv and file_format(path, mapping) == "csv"
    # The SHA-256 (and the line count a CSV scan is checked against) is computed beside the load:
    # on a 2.5 GB file it takes seconds. Only a file the size of one already loaded from this
    # source can be a duplicate; for that one the load waits for the digest before doing anything.
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{clip(path)}: the file is empty (0 bytes), so there is nothing to load; export it "
                        "again (it may have been copied before the export finished)")
    pool = ThreadPoolExecutor(1)
    scan = pool.submit(_digest_and_lines, path)
    pool.shutdown(wait=False)
    same_size = fetch_one(
        con,
        "SELECT count(*) FROM loads WHERE source = $src AND status = 'loaded' "
        "AND (file_bytes = $n OR file_bytes IS NULL)",  # NULL: ledgers from before sizes were kept
        {"src": mapping.source, "n": size},
    )[0]
    prev = None
    if same_size:
        prev = fetch_one(
            con,
            "SELECT load_id, rows_read, quarantined FROM loads WHERE sha256 = $sha AND source = $src "
            "AND status = 'loaded' ORDER BY load_id LIMIT 1",
            {"sha": scan.result()[0], "src": mapping.source},
        )
    load_id = fetch_one(con, "SELECT nextval('load_id_seq')")[0]
    if prev:
        res = FileResult(
            path,
            mapping.source,
            table.name,
            prev[1],
            0,
            0,
            prev[1] - prev[2],
            prev[2],
            "duplicate",
            time.time() - started,
            load_id,
            f"same content as load #{prev[0]}; nothing changed",
        )
        _ledger(con, res, scan.result()[0], size, started_at)
        return res

    stages = _Stages(path.name, show_progress)
    registered = raw = None
    try:
        raw = read_file(path, mapping, direct_csv)
        columns = raw.columns
        if mapping.version_optional and mapping.version_column not in columns:
            mapping = dataclasses.replace(mapping, version_column=None)
        needed = [s.source for s in mapping.columns if s.source and not s.optional]
        if mapping.version_column and mapping.version_column not in needed:
            needed.append(mapping.version_column)
        missing = [c for c in needed if c not in columns]
        if missing:
            raise UserError(
                f"{clip(path)}: column(s) {clip(missing, 120)} required by mapping {mapping.source!r} are missing; "
                f"the file has {clip(columns, 120)}. Fix the export, or the mapping ({clip(mapping.path)})"
            )
        registered = raw
        raw.register(con)
        stages.step("read")

        raw_types = {
            name: typ for name, typ in con.execute("SELECT column_name, column_type FROM (DESCRIBE raw)").fetchall()
        }
        refs = {c.references[0] for c in table.columns if c.references}
        nonempty = {t: fetch_one(con, f"SELECT EXISTS (SELECT 1 FROM {t})")[0] for t in refs}
        stage = build_stage(mapping, raw_types, business_tz, nonempty, raw.positional, future_days)
        _stage_rows(con, stage, raw.positional is not None)
        rows_read = fetch_one(con, "SELECT count(*) FROM staged")[0]
        # One record per line after the header, the usual case, leaves no room for blank lines;
        # otherwise (quoted line breaks, or blank lines) look for blank lines, which DuckDB skips.
        if raw.direct_csv and rows_read != scan.result()[1] - mapping.header_row and _has_blank_line(path):
            raise ReadAnotherWay("blank lines: Polars numbers them as rows")
        stages.step("validate")

        _register_checks(con, stage.checks, "checks")
        con.execute("CREATE OR REPLACE TEMP TABLE bad_rids AS SELECT _rid FROM staged WHERE _bad")
        con.execute("CREATE OR REPLACE TEMP TABLE failed (_rid BIGINT, idx INTEGER)")
        if mapping.mode == "log":  # an event log: records re-derived from every stored event (pipelines/fold.py)
            final_sql = fold.fold_log(con, mapping, table, stage.post_checks, len(stage.checks), load_id, _append_check,
                                      path)
        else:
            final_sql = _fold_snapshot(con, mapping, table, len(stage.checks))
        compared = _compare(con, mapping, table, final_sql, len(stage.checks))
        stages.step("fold")

        _keep_raw_failed(con, raw.positional)
        if fetch_one(con, "SELECT EXISTS (SELECT 1 FROM bad_rids)")[0]:
            con.execute(f"INSERT INTO failed SELECT _rid, unnest(_fails) FROM ({stage.fails_sql})", stage.params)
        stages.step("quarantine")

        _quarantine(con, load_id, path, columns)
        quarantined = fetch_one(con, "SELECT count(DISTINCT _rid) FROM failed")[0]
        if quarantined:
            limit = mapping.max_quarantined_share
            limit = max_quarantined_share if limit is None else limit
            if quarantined > limit * rows_read:
                raise UserError(_refusal(con, load_id, path, mapping, quarantined, rows_read, limit))
            _add_fixes(con, load_id, mapping)
        inserted, updated, unchanged = _merge(con, table, final_sql, load_id, compared)
        stages.step("merge")

        message = ""
        if stage.skipped_references:
            message = "reference check skipped: " + "; ".join(stage.skipped_references)
        res = FileResult(
            path,
            mapping.source,
            table.name,
            rows_read,
            inserted,
            updated,
            unchanged,
            quarantined,
            "loaded",
            time.time() - started,
            load_id,
            message,
        )
        if res.inserted + res.updated + res.unchanged + res.quarantined != res.rows_read:
            raise RuntimeError(f"{path}: internal error, counts do not add up ({res}); nothing was loaded")
        _ledger(con, res, scan.result()[0], size, started_at)
        _drop_temps(con)
        stages.step("ledger")
        return res
    finally:
        stages.close()
        if registered is not None:
            try:
                registered.unregister(con)
            except duckdb.Error:  # the transaction failed; rolling it back drops the view too
                pass
        if raw is not None:
            raw.cleanup()  # a temporary conversion of the file, also when it failed a column check


def _stage_rows(con: duckdb.DuckDBPyConnection, stage: StageSQL, positional: bool) -> None:
    """Temp table `staged_rows` and view `staged` over it (_rid, v_<col>..., _v, _bad)."""
    # Read any other way than positionally, the file is a Parquet file or a frame, whose size
    # DuckDB knows: it builds the reference joins' hash tables on the smaller side (a day's
    # 700 visits, not the 10M tickets they refer to: 5 s of a daily delta at 10M).
    with _joins_as_written(con) if positional else contextlib.nullcontext():
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE staged_rows AS {stage.sql}", stage.params)
        except duckdb.Error as exc:
            if not positional:
                raise
            # malformed or mis-encoded CSV: Polars reads it, or names the problem
            raise ReadAnotherWay(str(exc).splitlines()[0]) from exc
    if not positional:
        con.execute("CREATE OR REPLACE TEMP VIEW staged AS SELECT * FROM staged_rows")
        return
    # Rows in file order (see RawFile.positional); inside the load's transaction the rowids are
    # offset (transaction-local storage).
    offset = int(fetch_one(con, "SELECT coalesce(min(rowid), 0) FROM staged_rows")[0])
    con.execute(f"CREATE OR REPLACE TEMP VIEW staged AS SELECT rowid - {offset} AS _rid, * FROM staged_rows")
    if stage.reference_sql:
        # The staged rows are a table of known size now: DuckDB picks the join's build side (the
        # file's keys when they are fewer than the 10M tickets a visits file refers to).
        con.execute(f"UPDATE staged_rows SET _bad = TRUE WHERE rowid - {offset} IN ({stage.reference_sql})")


def _keep_raw_failed(con: duckdb.DuckDBPyConnection, positional: tuple[str, list[str]] | None) -> None:
    """Temp table `raw_failed`: the raw rows (as view `raw`) of the rows that failed a rule, read
    once: the rules they broke and the quarantine need them. A clean file reads nothing (an empty
    IN list still scanned every raw row). A positional staging kept the raw values of the rows that
    failed a rule on their own cells; a row failing only a reference or a rule across rows (the
    folding) is looked up in the file again, in one streaming pass (a few seconds a GB)."""
    con.execute("CREATE OR REPLACE TEMP TABLE needed AS SELECT _rid FROM bad_rids UNION SELECT _rid FROM failed")
    needed = fetch_one(con, "SELECT count(*) FROM needed")[0]
    kept_all = positional is not None and needed and not fetch_one(
        con, "SELECT EXISTS (SELECT 1 FROM needed WHERE _rid NOT IN (SELECT _rid FROM staged WHERE _raw_kept))")[0]
    if not needed:
        con.execute("CREATE OR REPLACE TEMP TABLE raw_failed AS SELECT * FROM raw LIMIT 0")
    elif kept_all:
        assert positional is not None
        kept = ", ".join(f"{kept_raw(i)} AS {quote_ident(c)}" for i, c in enumerate(positional[1]))
        con.execute(f"CREATE OR REPLACE TEMP TABLE raw_failed AS SELECT _rid, _rid + 1 AS {ROW}, "
                    f"CAST(NULL AS VARCHAR) AS {SHEET}, {kept} FROM staged WHERE _raw_kept")
    else:
        with _joins_as_written(con):
            con.execute("CREATE OR REPLACE TEMP TABLE raw_failed AS SELECT * FROM raw "
                        "WHERE _rid IN (SELECT _rid FROM needed)")
    con.execute("DROP TABLE needed")


@contextlib.contextmanager
def _joins_as_written(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Queries planned as written, in two respects. Hash tables are built on the side the query
    names last (the referenced keys, the failed rows): DuckDB cannot estimate how many rows a CSV
    scan yields; left to choose, it may build on the file's side instead, every column of 10M rows
    held in memory. And an IN list (a known-values rule, null markers) stays an expression: from
    five values on, DuckDB turns it into a join, and a join does not keep the rows' order, which a
    positional staging numbers them by (RawFile.positional)."""
    con.execute("SET disabled_optimizers = 'join_order,build_side_probe_side,in_clause'")
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):  # an aborted transaction refuses even this; the next file resets it
            con.execute("RESET disabled_optimizers")


def _drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    """Free the per-file working tables. Only after success: a failed file's transaction is rolled
    back, and the temp tables with it."""
    con.execute("DROP VIEW IF EXISTS final_rows")
    con.execute("DROP VIEW IF EXISTS staged")
    for name in ("final", "changes", "raw_failed", "failed", "bad_rids", "checks", "staged_rows"):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _register_checks(con: duckdb.DuckDBPyConnection, checks: list[Check], name: str) -> None:
    frame = pl.DataFrame(
        {
            "idx": list(range(len(checks))),
            "rule": [c.rule for c in checks],
            "column_name": [c.column for c in checks],
            "source_column": [c.source_column for c in checks],
            "message": [c.message for c in checks],
        },
        schema={
            "idx": pl.Int32,
            "rule": pl.String,
            "column_name": pl.String,
            "source_column": pl.String,
            "message": pl.String,
        },
    )
    con.register("checks_frame", frame)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM checks_frame")
    con.unregister("checks_frame")


# Snapshot mode's rules across rows, by their index after the staging checks (n_checks + offset).
_TIED, _TIED_KEY, _CONFLICT = 0, 1, 2


def _tie_order(mapping: Mapping) -> str:
    """ORDER BY of one key's rows, the winner first: version, then the tie-break."""
    order = "_v DESC NULLS LAST, _t DESC NULLS LAST"
    return order + (", _rid DESC" if mapping.tie_break == TIE_LAST_ROW else "")


def _fold_snapshot(con: duckdb.DuckDBPyConnection, mapping: Mapping, table: model.Table, n_checks: int) -> str:
    """Snapshot mode: one row per key, the highest version (then tie-break) winning. Rows of one
    key that no version or tie-break orders and that differ (the file contradicts itself) are
    quarantined as `duplicate_key`, unless the mapping says `tie_break: last_row`; when they are
    the key's latest rows, its other rows go too, so that the key keeps what is stored rather than
    an older state the file itself says is superseded. Identical repeats fold into one."""
    cols = [c.name for c in table.columns]
    keys = ", ".join(f"v_{k}" for k in table.key)
    vcols = ", ".join(f"v_{c}" for c in cols)
    n_rows, n_keys = fetch_one(con, f"SELECT count(*), count(DISTINCT ({keys})) FROM staged WHERE NOT _bad")
    if n_rows == n_keys:  # the usual export: one row per key, nothing to fold
        con.execute(f"CREATE OR REPLACE TEMP VIEW final_rows AS SELECT {vcols}, _v, _t, 1 AS _n FROM staged "
                    "WHERE NOT _bad")
        return "final_rows"
    if mapping.tie_break != TIE_LAST_ROW:
        ordered = "version and tie-break" if mapping.tie_column else "version" if mapping.version_column else None
        what = (f"another row of this key has the same {ordered} and different values" if ordered else
                "another row of this key has different values, and the mapping names no `version` to order them")
        _append_check(con, Check("duplicate_key", None, None, what + "; name a `tie_break` in the mapping "
                                 "(a second version column, or last_row)"), n_checks + _TIED)
        _append_check(con, Check("duplicate_key", None, None, "this key's latest rows in the file contradict each "
                                 "other (see its other rows); the key keeps what is stored"), n_checks + _TIED_KEY)
        con.execute(f"""
            INSERT INTO failed
            WITH rows AS (
                SELECT _rid, {keys}, _v, _t,
                       count(DISTINCT hash({vcols})) OVER (PARTITION BY {keys}, _v, _t) > 1 AS tied
                FROM staged WHERE NOT _bad
                  AND ({keys}) IN (SELECT ({keys}) FROM staged WHERE NOT _bad GROUP BY ALL HAVING count(*) > 1)),
            top AS (SELECT {keys} FROM (
                SELECT {keys}, tied, row_number() OVER (PARTITION BY {keys} ORDER BY {_tie_order(mapping)}) AS r
                FROM rows) WHERE r = 1 AND tied)
            SELECT _rid, CASE WHEN tied THEN {n_checks + _TIED} ELSE {n_checks + _TIED_KEY} END FROM rows
            WHERE tied OR ({keys}) IN (SELECT ({keys}) FROM top)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE final AS
        SELECT * EXCLUDE (_rank) FROM (
            SELECT {vcols}, _v, _t, count(*) OVER (PARTITION BY {keys}) AS _n,
                   row_number() OVER (PARTITION BY {keys} ORDER BY {_tie_order(mapping)}, _rid DESC) AS _rank
            FROM staged WHERE NOT _bad AND _rid NOT IN (SELECT _rid FROM failed))
        WHERE _rank = 1""")
    return "final"


def _append_check(con: duckdb.DuckDBPyConnection, check: Check, idx: int) -> None:
    con.execute(
        "INSERT INTO checks VALUES ($i, $r, $c, $s, $m)",
        {"i": idx, "r": check.rule, "c": check.column, "s": check.source_column, "m": check.message},
    )


def _json_value(raw: str, column: str) -> str:
    """SQL for the text of ``column`` (an SQL expression naming a header) in the JSON object
    ``raw``, addressed by a JSON Pointer (RFC 6901: ``~`` and ``/`` escaped), which takes any
    header: one holding `"` or `\\`, or an empty one (pandas' index column)."""
    return f"json_extract_string({raw}, '/' || replace(replace({column}, '~', '~0'), '/', '~1'))"


def _quarantine(con: duckdb.DuckDBPyConnection, load_id: int, path: Path, headers: list[str]) -> None:
    params: dict[str, object] = {"load": load_id, "file": path.name}
    pairs = []
    for i, h in enumerate(headers):
        params[f"h{i}"] = h
        pairs.append(f"$h{i}, CAST(r.{quote_ident(h)} AS VARCHAR)")
    raw_json = f"json_object({', '.join(pairs)})" if pairs else "'{}'::JSON"
    # The header is quoted in the JSON path (a header may hold `"` or `\`); a long value is cut.
    value = _json_value(raw_json, "c.source_column")
    shown = (f"CASE WHEN length({value}) > 100 THEN left({value}, 100) || '…(' || length({value}) || "
             f"' characters)' ELSE {value} END")
    con.execute(
        f"""
        INSERT INTO quarantine
        SELECT $load, $file, r.{ROW}, r.{SHEET}, c.column_name, c.source_column, c.rule,
               c.message || CASE WHEN c.source_column IS NOT NULL
                   THEN ' (value: ' || coalesce({shown}, 'empty') || ')' ELSE '' END,
               {raw_json}
        FROM failed f JOIN checks c ON c.idx = f.idx JOIN raw_failed r ON r._rid = f._rid
        ORDER BY r._rid, c.idx""",
        params,
    )


def _column_type(mapping: Mapping, column: str | None) -> str | None:
    table = mapping.table_def
    return table.column(column).type if column in table.column_names else None


def _vocabulary(mapping: Mapping, column: str | None) -> str | None:
    table = mapping.table_def
    return model.vocabulary_of(table.column(column).allowed) if column in table.column_names else None


def _refusal(con: duckdb.DuckDBPyConnection, load_id: int, path: Path, mapping: Mapping, quarantined: int,
             rows_read: int, limit: float) -> str:
    """The message refusing a file most of whose rows break rules: the top rules, each with a
    value and what to do."""
    top = con.execute(f"""
        SELECT rule, column_name, source_column, count(*) AS n,
               any_value({_json_value("raw", "source_column")}) AS sample
        FROM quarantine WHERE load_id = $load
        GROUP BY ALL ORDER BY n DESC, rule, column_name LIMIT 3""", {"load": load_id}).fetchall()
    # One line within the CLI's message limit: the most frequent rule carries its fix (the one to
    # act on first); the others are named with their counts.
    parts = [f"{clip(path, 60)}: {quarantined:,} of {rows_read:,} rows ({quarantined / rows_read:.0%}) break the "
             f"rules (over {limit:.0%}); nothing from this file was written."]
    for i, (rule, column, source, n, sample) in enumerate(top):
        where = f"{source or column}" if (source or column) else "row"
        if i == 0:
            value = f", e.g. {clip(sample, 30)!r}" if sample is not None else ""
            fix = hints.fix(rule, _column_type(mapping, column), _short_sample(sample), _vocabulary(mapping, column))
            parts.append(f"{rule} in {clip(where, 40)}: {n:,} row(s){value} → {fix}.")
        else:
            parts.append(f"Also {rule} in {clip(where, 40)}: {n:,}.")
    parts.append("Or raise `max_quarantined_share`.")
    return " ".join(parts)


def _short_sample(sample: str | None) -> str | None:
    """A value as quoted in a fix: a date or a code is short; a long value is cut (messages stay
    within a few hundred characters, the raw values keep it whole)."""
    return clip(sample, 40) if sample is not None else None


def _add_fixes(con: duckdb.DuckDBPyConnection, load_id: int, mapping: Mapping) -> None:
    """Append to each quarantined value's message what to do about it, guessed per column and
    shape of value (digits as 9: one guess for every date written as 99/9/9999 99:99)."""
    shapes = con.execute(f"""
        SELECT rule, column_name, regexp_replace(v, '[0-9]', '9', 'g') AS shape, any_value(v)
        FROM (SELECT rule, column_name, {_json_value("raw", "source_column")} AS v
              FROM quarantine WHERE load_id = $load AND rule IN ('type', 'known_value') AND source_column IS NOT NULL)
        WHERE v IS NOT NULL GROUP BY ALL LIMIT 200""", {"load": load_id}).fetchall()
    if not shapes:
        return
    notes = pl.DataFrame(
        [(rule, column, shape,
          hints.fix(rule, _column_type(mapping, column), _short_sample(sample), _vocabulary(mapping, column)))
         for rule, column, shape, sample in shapes],
        schema={"rule": pl.String, "col": pl.String, "shape": pl.String, "note": pl.String}, orient="row")
    con.register("fix_notes", notes)
    try:  # one pass over the file's quarantined values, however many shapes
        con.execute(f"""
            UPDATE quarantine SET message = message || '; fix: ' || h.note FROM fix_notes h
            WHERE quarantine.load_id = $load AND quarantine.rule = h.rule AND quarantine.column_name = h.col
              AND regexp_replace({_json_value("quarantine.raw", "quarantine.source_column")},
                                 '[0-9]', '9', 'g') = h.shape""", {"load": load_id})
    finally:
        con.unregister("fix_notes")


def _compare(con: duckdb.DuckDBPyConnection, mapping: Mapping, table: model.Table, final: str, n_checks: int) -> bool:
    """Temp table `changes`: each folded record against the stored one (insert, same, stale,
    update). In snapshot mode, a record with the stored one's version (and tie-break value) and
    other values contradicts it: its rows are quarantined (`duplicate_key`) and the stored record
    stays, whichever file came first. Returns False when the table is empty (all inserts)."""
    if not fetch_one(con, f"SELECT EXISTS (SELECT 1 FROM {table.name})")[0]:
        return False
    cols = [c.name for c in table.columns]
    vcols = ", ".join(f"f.v_{c}" for c in cols)
    join = " AND ".join(f"e.{k} = f.v_{k}" for k in table.key)
    conflict = ("WHEN f._v = e._version AND f._t IS NOT DISTINCT FROM e._tie THEN 'conflict'"
                if mapping.mode == "snapshot" else "")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE changes AS
        SELECT {vcols}, f._v, f._t, f._n, hash({vcols}) AS _h,
               CASE WHEN e.{table.key[0]} IS NULL THEN 'insert'
                    WHEN e._row_hash = hash({vcols}) THEN 'same'
                    WHEN f._v < e._version OR (f._v = e._version AND f._t < e._tie) THEN 'stale'
                    {conflict}
                    ELSE 'update' END AS _action
        FROM {final} f LEFT JOIN {table.name} e ON {join}""")
    if conflict and fetch_one(con, "SELECT EXISTS (SELECT 1 FROM changes WHERE _action = 'conflict')")[0]:
        _append_check(con, Check("duplicate_key", None, None, "the stored record has the same version and other "
                                 "values (loaded from another file); it stays as it is. Name a `tie_break` in the "
                                 "mapping, or correct the export"), n_checks + _CONFLICT)
        on = " AND ".join(f"s.v_{k} = c.v_{k}" for k in table.key)
        con.execute(f"""
            INSERT INTO failed
            SELECT s._rid, {n_checks + _CONFLICT} FROM staged s JOIN changes c ON {on}
            WHERE c._action = 'conflict' AND NOT s._bad AND s._rid NOT IN (SELECT _rid FROM failed)""")
    return True


def _merge(con: duckdb.DuckDBPyConnection, table: model.Table, final: str, load_id: int,
           compared: bool) -> tuple[int, int, int]:
    cols = [c.name for c in table.columns]
    vcols = ", ".join(f"f.v_{c}" for c in cols)
    if not compared:
        # First load into an empty table: every key is new, nothing to compare.
        inserted, extra = fetch_one(con, f"SELECT count(*), coalesce(sum(_n - 1), 0) FROM {final}")
        con.execute(f"""
            INSERT INTO {table.name} ({', '.join(cols)}, _version, _row_hash, _load_id, _tie)
            SELECT {vcols}, f._v, hash({vcols}), $load, f._t FROM {final} f""", {"load": load_id})
        return int(inserted), int(extra), 0
    inserted, updated, unchanged = fetch_one(
        con,
        """
        SELECT count(*) FILTER (WHERE _action = 'insert'),
               coalesce(sum(CASE _action WHEN 'insert' THEN _n - 1 WHEN 'update' THEN _n ELSE 0 END), 0),
               coalesce(sum(_n) FILTER (WHERE _action IN ('same', 'stale')), 0)
        FROM changes""",
    )
    if updated:
        match = " AND ".join(f"{table.name}.{k} = c.v_{k}" for k in table.key)
        con.execute(f"DELETE FROM {table.name} USING changes c WHERE c._action = 'update' AND {match}")
    con.execute(
        f"""
        INSERT INTO {table.name} ({", ".join(cols)}, _version, _row_hash, _load_id, _tie)
        SELECT {", ".join(f"v_{c}" for c in cols)}, _v, _h, $load, _t FROM changes
        WHERE _action IN ('insert', 'update')""",
        {"load": load_id},
    )
    return int(inserted), int(updated), int(unchanged)


def _ledger(con: duckdb.DuckDBPyConnection, res: FileResult, sha: str, size: int, started_at: dt.datetime) -> None:
    con.execute(
        "INSERT INTO loads (load_id, file_name, file_path, sha256, source, table_name, started_at, finished_at, "
        "rows_read, inserted, updated, unchanged, quarantined, status, message, file_bytes) "
        "VALUES ($id, $name, $path, $sha, $src, $tbl, $start, $end, $read, $ins, $upd, $unch, $quar, $status, $msg, $bytes)",
        {
            "bytes": size,
            "id": res.load_id,
            "name": res.path.name,
            "path": str(res.path.resolve()),
            "sha": sha,
            "src": res.source,
            "tbl": res.table,
            "start": started_at,
            "end": dt.datetime.now(),
            "read": res.rows_read,
            "ins": res.inserted,
            "upd": res.updated,
            "unch": res.unchanged,
            "quar": res.quarantined,
            "status": res.status,
            "msg": res.message or None,
        },
    )


def file_failure(path: Path, exc: Exception, db_path: Path) -> UserError:
    """The one-line error for a file whose load failed (its transaction is rolled back)."""
    if is_disk_full(exc):
        return UserError(f"{clip(path)}: {disk_full_message(db_path, first_line(exc))}")
    if not path.exists():  # it was there when the run listed its files
        return UserError(f"{clip(path)}: the file was moved or deleted while it was being loaded; nothing from "
                         "it was written. Put it back (or wait until whatever writes it has finished) and load again")
    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, OSError):
        return UserError(f"{clip(path)}: cannot read the file ({first_line(exc)}); nothing from it was written. "
                         "Check that it is readable and complete, and load again")
    return UserError(f"{clip(path)}: load failed ({type(exc).__name__}: {first_line(exc)}); nothing from this "
                     "file was written. Check that it is a complete CSV/Excel/Parquet export matching its "
                     "mapping, and load again")


def _rebuild_derived(db_path: Path, echo: Callable[[str], None] | None, show_progress: bool,
                     memory_budget: int | None = None) -> None:
    """Rebuild the metrics' derived tables in a writer session of their own, after the load's
    data are published. If it fails the data stay loaded and the metrics compute the same rows
    inline (slower) until a later load rebuilds them; that is said, not raised."""
    say = echo or (lambda line: print(line, file=sys.stderr))
    if echo:
        echo("data published; rebuilding the metrics' derived tables (until they land the metrics "
             "read the loaded tables directly: same numbers, slower)")
    started = time.time()
    try:
        with writer(db_path, memory_budget) as con:
            what = derive.refresh(con, show_progress=show_progress)
    except (duckdb.Error, RuntimeError, OSError, UserError) as exc:
        say(f"derived tables not rebuilt ({first_line(exc, 200)}); the data are loaded and "
            "the metrics read them directly (same numbers, slower) until the next load rebuilds them")
        return
    if echo:
        echo(f"derived tables {what} in {time.time() - started:.1f} s")


def load_paths(
    db_path: Path,
    paths: Iterable[str | Path],
    source: str | None = None,
    business_tz: str = "Asia/Shanghai",
    mapping_dirs: list[Path] | None = None,
    show_progress: bool | None = None,
    echo: Callable[[str], None] | None = None,
    max_quarantined_share: float = DEFAULT_MAX_QUARANTINED_SHARE,
    future_days: int = 1,
    memory_budget: int | None = None,
) -> list[FileResult]:
    """Load files into the database at `db_path`; each file lands whole or not at all.

    ``memory_budget``: bytes the load and its rebuild may hold (default: the config default's
    share of the machine's memory); the process's peak is echoed at the end.

    Files are applied in table dependency order (master data first). The first file-level error
    stops the run: files applied before it are kept (published), and the error is raised.
    """
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    files = expand_paths(paths)
    mappings = all_mappings(mapping_dirs)
    plan = [(f, choose_mapping(f, mappings, source)) for f in files]
    plan.sort(key=lambda fm: model.LOAD_ORDER.index(fm[1].table))
    results: list[FileResult] = []
    failure: BaseException | None = None
    if memory_budget is None:
        memory_budget = memory_budget_bytes(DEFAULTS["load"]["memory_budget"])
    with writer(db_path, memory_budget) as con:
        con.execute("SET TimeZone = $tz", {"tz": business_tz})
        register_functions(con)  # before any transaction: a file's rollback would drop them
        for path, mapping in tqdm(
            plan, desc="files", unit="file", disable=not show_progress or len(plan) < 2, file=sys.stderr
        ):
            con.execute("BEGIN TRANSACTION")
            try:
                try:
                    res = load_file(con, path, mapping, business_tz, show_progress,
                                    max_quarantined_share=max_quarantined_share, future_days=future_days)
                except ReadAnotherWay:
                    con.execute("ROLLBACK")
                    con.execute("BEGIN TRANSACTION")
                    res = load_file(con, path, mapping, business_tz, show_progress, direct_csv=False,
                                    max_quarantined_share=max_quarantined_share, future_days=future_days)
            except Exception as exc:
                failure = file_failure(path, exc, db_path)
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    # The session itself is broken (e.g. the disk filled up): publish nothing.
                    raise failure from None
                if is_disk_full(exc):
                    raise failure from None  # the writer discards the work copy, said as disk full
                break
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
            try:
                con.execute("COMMIT")
            except duckdb.Error as exc:  # a failed commit leaves the session unusable: publish nothing
                raise file_failure(path, exc, db_path) from None
            results.append(res)
            if echo:
                echo(res.summary())
        # The derived tables: a patch is published with the files applied or not at all; a
        # rebuild waits for the next session, so that the data do not wait for it.
        derived = derive.refresh(con, defer_rebuild=True)
    if derived == derive.DEFERRED:
        # After a refused file the run ends with its error: the rebuild for the files before it
        # runs quietly (a "data published" line would read as if the refused file had landed).
        _rebuild_derived(db_path, None if failure else echo, show_progress, memory_budget)
    if echo and not failure:
        echo(f"peak memory {peak_rss_bytes() / 2**20:,.0f} MB (budget {memory_budget / 2**20:,.0f} MB, "
             "[load] memory_budget)")
    if failure:
        if results and echo:
            echo(
                f"{len(results)} file(s) before the failure were loaded; fix the file and load it again "
                "(files already loaded are recognised and skipped)"
            )
        raise failure
    return results
