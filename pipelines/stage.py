"""SQL that turns raw values into canonical, validated rows in one pass.

Everything here is generated from the mapping and the canonical model: identifiers are either
canonical names (an allow-list in aftersales.model) or source headers that exist in the file
(quoted); every value, format, null marker and value-map entry is a bound parameter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from aftersales import model
from pipelines.clean import default_horizon, normalised_column, quote_ident, trimmed
from pipelines.excel_cells import CELL_PREFIX
from pipelines.mapping import WHITESPACE, ColumnSpec, Mapping, normalise_text

# Tried after a mapping's own formats and DuckDB's ISO cast; order matters only for ambiguity.
BUILTIN_DATETIME_FORMATS = [
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
    "%Y%m%d %H:%M:%S", "%Y%m%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日",
]
ZONED_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M%z",
                 "%Y-%m-%d %H:%M%z", "%Y/%m/%d %H:%M:%S%z", "%Y/%m/%d %H:%M%z"]
# A time of day followed by a zone in any ISO 8601 form (Z, ±hh, ±hhmm, ±hh:mm) or by name (UTC,
# Asia/Tokyo). Such a value is converted from its own zone; a cast to TIMESTAMP would keep the
# wall time and silently drop the offset.
ZONED_RE = r"\d:\d\d(:\d\d(\.\d+)?)?\s*([zZ]|[+-]\d\d(:?\d\d)?|UTC|GMT|[A-Za-z]+/[A-Za-z_]+)$"
TRUE_WORDS = ["true", "t", "1", "yes", "y", "是", "对", "√"]
FALSE_WORDS = ["false", "f", "0", "no", "n", "否", "不是", "×"]
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT")


@dataclass(frozen=True)
class Check:
    """One validation rule on one column; its index is what the staged row's `_fails` lists."""

    rule: str
    column: str | None
    source_column: str | None
    message: str


@dataclass
class Params:
    values: dict[str, Any] = field(default_factory=dict)

    def bind(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def _unmarked(a: str, mapping: Mapping, p: Params, nfkc: bool = False) -> str:
    """NULL for the mapping's null markers (compared after trimming, and normalising with `nfkc`)."""
    markers = sorted({normalise_text(m) if nfkc else m.strip(WHITESPACE) for m in mapping.null_values})
    if not markers:
        return a
    # strlen is the stored byte length (free); only short strings can be null markers.
    longest = max(len(m.encode()) for m in markers)
    return f"CASE WHEN strlen({a}) <= {longest} AND {a} IN ({', '.join(p.bind(m) for m in markers)}) THEN NULL ELSE {a} END"


def _code_text(v: Any) -> str | None:
    return None if v is None else "true" if v is True else "false" if v is False else str(v)


def _mapped(n: str, spec: ColumnSpec, p: Params) -> str:
    """The mapping's value map applied: unmapped values pass through, or take the map's `else:`
    default (empty values stay empty)."""
    if not spec.values:
        return f"CASE WHEN {n} IS NOT NULL THEN CAST({p.bind(_code_text(spec.default))} AS VARCHAR) END"
    keys = [str(k) for k in spec.values]
    vals = [_code_text(v) for v in spec.values.values()]
    found = f"map_extract_value(MAP({p.bind(keys)}, {p.bind(vals)}), {n})"
    if spec.default is None:
        return f"coalesce({found}, {n})"
    # a source value mapped to null (`未知: null`) stays empty rather than taking the default
    return (f"CASE WHEN {n} IS NULL THEN NULL WHEN list_contains({p.bind(keys)}, {n}) THEN {found} "
            f"ELSE CAST({p.bind(_code_text(spec.default))} AS VARCHAR) END")


def _constant(spec: ColumnSpec, p: Params) -> str:
    const = spec.constant
    if isinstance(const, bool):
        const = "true" if const else "false"
    return f"CAST({p.bind(None if const is None else str(const))} AS VARCHAR)"


def _timestamp_expr(t: str, formats: list[str], file_tz: str, business_tz: str, p: Params) -> str:
    # DuckDB's TIMESTAMPTZ cast reads every ISO offset form and zone names; a space before the
    # offset (`... 09:03:00 +08:00`) is removed first, and strptime tries the other layouts.
    spaced = f"regexp_replace({t}, '\\s+([+-]\\d)', '\\1')"
    zoned = (f"timezone({p.bind(business_tz)}, coalesce(TRY_CAST({spaced} AS TIMESTAMPTZ), "
             f"try_strptime({spaced}, {p.bind(ZONED_FORMATS)})))")
    # Excel serial day numbers; workbooks store them with float noise, so round to whole seconds.
    serial = (f"CASE WHEN TRY_CAST({t} AS DOUBLE) BETWEEN 20000 AND 80000 THEN TIMESTAMP '1899-12-30' + "
              f"to_seconds(CAST(round(TRY_CAST({t} AS DOUBLE) * 86400) AS BIGINT)) END")
    attempts = [f"TRY_CAST({t} AS TIMESTAMP)"]
    if formats:
        attempts.insert(0, f"try_strptime({t}, {p.bind(formats)})")
    attempts += [f"try_strptime({t}, {p.bind(BUILTIN_DATETIME_FORMATS)})", serial]
    naive = f"coalesce({', '.join(attempts)})"
    if file_tz != business_tz:
        naive = f"timezone({p.bind(business_tz)}, timezone({p.bind(file_tz)}, {naive}))"
    full = f"CASE WHEN regexp_matches({t}, {p.bind(ZONED_RE)}) THEN {zoned} ELSE {naive} END"
    if formats:
        return full
    # The usual shape first: a string that is exactly `YYYY-MM-DD HH:MM:SS` (19 bytes) carries no
    # zone and is what TRY_CAST, the first attempt above, reads it as; the rest is for the others.
    fast = f"CASE WHEN strlen({t}) = 19 THEN try_strptime({t}, '%Y-%m-%d %H:%M:%S') END"
    if file_tz != business_tz:
        fast = f"timezone({p.bind(business_tz)}, timezone({p.bind(file_tz)}, {fast}))"
    return f"coalesce({fast}, {full})"


@dataclass
class _Parse:
    """Typed value of one canonical column in two steps, each computed once: `pre` over t_ (the
    cleaned text) or s_ (a typed source value), and `final` over p_ (the result of `pre`)."""

    pre: str
    final: str


def _parse(col: model.Column, spec: ColumnSpec, t: str, s: str, mapping: Mapping, src_type: str,
           business_tz: str, p: Params) -> _Parse:
    """NULL where the text does not parse. `src_type` is the raw column's type (VARCHAR for text)."""
    src_type = src_type.upper()
    typ = col.type.upper()
    pc = f"p_{col.name}"
    direct = spec.source is not None and not spec.values and spec.default is None and src_type != "VARCHAR"
    if typ == "VARCHAR":
        return _Parse(t, pc)
    if typ in ("TIMESTAMP", "DATE"):
        if direct and src_type.startswith("TIMESTAMP WITH TIME ZONE"):
            ts = f"timezone({p.bind(business_tz)}, {s})"
        elif direct and (src_type.startswith("TIMESTAMP") or src_type == "DATE"):
            ts = f"CAST({s} AS TIMESTAMP)"
            file_tz = mapping.timezone or business_tz
            if file_tz != business_tz:
                ts = f"timezone({p.bind(business_tz)}, timezone({p.bind(file_tz)}, {ts}))"
        else:
            formats = list(spec.formats) + list(mapping.datetime_formats)
            ts = _timestamp_expr(t, formats, mapping.timezone or business_tz, business_tz, p)
        # Years outside this window are typing slips or Excel's zero date, not after-sales events.
        final = f"CASE WHEN year({pc}) BETWEEN 2000 AND 2100 THEN {pc} END"
        return _Parse(ts, f"CAST({final} AS DATE)" if typ == "DATE" else final)
    if typ in INTEGER_TYPES:
        if direct and src_type in INTEGER_TYPES + ("UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "HUGEINT"):
            return _Parse(f"TRY_CAST({s} AS {typ})", pc)
        return _Parse(f"TRY_CAST({t} AS DOUBLE)", f"CASE WHEN {pc} = trunc({pc}) THEN TRY_CAST({pc} AS {typ}) END")
    if typ.startswith("DECIMAL"):
        if direct:
            return _Parse(f"TRY_CAST({s} AS {typ})", pc)
        # A value that casts as it is has none of the characters the cleaning removes.
        return _Parse(f"coalesce(TRY_CAST({t} AS {typ}), TRY_CAST(regexp_replace({t}, '[¥￥,，\\s]', '', 'g') AS {typ}))", pc)
    if typ == "BOOLEAN":
        if direct and src_type == "BOOLEAN":
            return _Parse(s, pc)
        return _Parse(f"lower({t})", f"CASE WHEN list_contains({p.bind(TRUE_WORDS)}, {pc}) THEN TRUE "
                      f"WHEN list_contains({p.bind(FALSE_WORDS)}, {pc}) THEN FALSE END")
    raise ValueError(f"no parser for type {col.type}")


def _is_direct(col: model.Column, spec: ColumnSpec, raw_types: dict[str, str]) -> bool:
    """A typed source column (Parquet) of the target's own type family needs no text parsing."""
    if spec.source is None or spec.values or spec.default is not None or spec.source not in raw_types:
        return False
    src, typ = raw_types[spec.source].upper(), col.type.upper()
    if typ in ("TIMESTAMP", "DATE"):
        return src.startswith("TIMESTAMP") or src == "DATE"
    if typ in INTEGER_TYPES:
        return src in INTEGER_TYPES + ("UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "HUGEINT")
    if typ.startswith("DECIMAL"):
        return src in INTEGER_TYPES or src.startswith(("DECIMAL", "DOUBLE", "FLOAT"))
    return typ == "BOOLEAN" and src == "BOOLEAN"


class _Layers:
    """Nested SELECTs over raw relation `r`, each adding named columns computed from the one
    below, so that every cleaned text and parsed value is computed once per row however often the
    rules refer to it: 0 source (a_, s_), 1 null markers (n_), 2 value map (t_), 3 parse (p_), 4 final (v_)."""

    def __init__(self) -> None:
        self.items: list[list[str]] = [[], [], [], [], []]

    def add(self, level: int, expr: str, name: str) -> None:
        self.items[level].append(f"{expr} AS {name}")

    def sql(self, source: str, head: list[str]) -> str:
        """`head`: the raw columns passed through unchanged (`_rid`, or the kept raw values)."""
        query = f"SELECT {', '.join(head + self.items[0])} FROM {source} r"
        for items in self.items[1:]:
            if items:
                query = f"SELECT *, {', '.join(items)} FROM ({query})"
        return query


def _column_layers(layers: _Layers, col: model.Column, spec: ColumnSpec, mapping: Mapping,
                   raw_types: dict[str, str], business_tz: str, p: Params, nfkc: bool) -> None:
    """t_<col> (cleaned text, or the typed source value) and v_<col> (typed value) of one column."""
    name = col.name
    if spec.source is None:
        layers.add(0, _constant(spec, p), f"t_{name}")
        src_type = "VARCHAR"
    elif _is_direct(col, spec, raw_types):
        # Typed columns are referenced as they are; only text goes through cleaning and parsing.
        layers.add(0, f"r.{quote_ident(spec.source)}", f"t_{name}")
        src_type = raw_types[spec.source]
    else:
        layers.add(0, trimmed(spec.source, nfkc), f"a_{name}")
        if spec.values or spec.default is not None:
            layers.add(1, _unmarked(f"a_{name}", mapping, p, nfkc), f"n_{name}")
            layers.add(2, _mapped(f"n_{name}", spec, p), f"t_{name}")
        else:
            layers.add(1, _unmarked(f"a_{name}", mapping, p, nfkc), f"t_{name}")
        src_type = raw_types[spec.source]
    s_name = f"t_{name}"
    if spec.source is not None and not _is_direct(col, spec, raw_types):
        layers.add(0, f"r.{quote_ident(spec.source)}", f"s_{name}")
        s_name = f"s_{name}"
    parse = _parse(col, spec, f"t_{name}", s_name, mapping, src_type, business_tz, p)
    layers.add(3, parse.pre, f"p_{name}")
    layers.add(4, parse.final, f"v_{name}")


def _order_value(mapping: Mapping, column: str | None, typ: str, name: str, layers: _Layers,
                 raw_types: dict[str, str], business_tz: str, p: Params, fail) -> str:
    """BIGINT ordering value of a source column (a tie-break's second version column): an integer,
    or a timestamp's epoch microseconds; NULL without the column. Unreadable values fail `type`."""
    if not column:
        return "CAST(NULL AS BIGINT)"
    layers.add(0, trimmed(column, nfkc=True), f"t_{name}")
    if typ == "integer":
        value = f"TRY_CAST(TRY_CAST(t_{name} AS DOUBLE) AS BIGINT)"
    else:
        layers.add(0, f"r.{quote_ident(column)}", f"s_{name}")
        parse = _parse(model.Column(name, "TIMESTAMP", ""), ColumnSpec(name, source=column), f"t_{name}",
                       f"s_{name}", mapping, raw_types.get(column, "VARCHAR"), business_tz, p)
        layers.add(3, parse.pre, f"p_{name}")
        value = f"epoch_us({parse.final})"
    fail(f"t_{name} IS NOT NULL AND {value} IS NULL",
         Check("type", None, column, f"{column}: tie-break cannot be read as {typ}"))
    return value


@dataclass
class StageSQL:
    sql: str  # SELECT producing _rid, v_<col>..., _v, _bad (whether any check fails)
    fails_sql: str  # SELECT _rid, _fails (indexes into checks) over the rows of `raw_failed` in `bad_rids`
    params: dict[str, Any]
    checks: list[Check]
    post_checks: list[tuple[Check, str]]  # events mode: (check, condition on folded columns)
    skipped_references: list[str]
    # positional staging: SELECT _rid of the rows of `staged` whose references are unknown (a
    # join would lose the rows' order, so references are checked after staging); None without
    reference_sql: str | None = None


def kept_raw(i: int) -> str:
    """Where a positional staging keeps raw column i of a failing row (in list `_raw`)."""
    return f"_raw[{i + 1}]"


def build_stage(mapping: Mapping, raw_types: dict[str, str], business_tz: str,
                referenced_tables_nonempty: dict[str, bool],
                positional: tuple[str, list[str]] | None = None, future_days: int = 1) -> StageSQL:
    """The staging query over relation `raw` (with `_rid`), one row per source row.

    `positional`: (relation, its columns): a relation with the source columns but no `_rid`, read
    instead; the rows are then numbered by their position in the result (see
    pipelines.read.RawFile), and each failing row keeps its raw values in list `_raw` (NULL in
    the other rows; see `kept_raw`). Such a query must run with DuckDB's `in_clause` optimizer off (see
    pipelines.load), and checks references in `reference_sql` afterwards. Dates later than
    `future_days` after today (business time) fail `in_range`."""
    tdef = mapping.table_def
    specs = {s.target: s for s in mapping.columns}
    p = Params()
    checks: list[Check] = []
    post: list[tuple[Check, str]] = []
    skipped: list[str] = []
    layers = _Layers()
    conds: list[str] = []
    joins: list[str] = []

    ref_conds: list[str] = []

    def fail(cond: str, check: Check) -> None:
        conds.append(cond)
        checks.append(check)

    for col in tdef.columns:
        spec = specs.get(col.name)
        v = f"v_{col.name}"
        if spec is None or (spec.source is not None and spec.source not in raw_types):
            layers.add(4, f"CAST(NULL AS {col.type})", v)
            continue
        _column_layers(layers, col, spec, mapping, raw_types, business_tz, p, normalised_column(col, spec, tdef))
        src = spec.source
        label = src or col.name
        cell_ok = ""
        if src is not None and CELL_PREFIX + src in raw_types:
            layers.add(0, f"r.{quote_ident(CELL_PREFIX + src)}", f"e_{col.name}")
            cell_ok = f" AND e_{col.name} IS NULL"
            fail(f"e_{col.name} IS NOT NULL",
                 Check("type", col.name, src, f"{label}: the Excel cell holds an error value or a formula without "
                       "a calculated value, not data; correct it in Excel (recalculate and save) and export again"))
        if col.type.upper() != "VARCHAR":  # text is always readable as text
            fail(f"t_{col.name} IS NOT NULL AND {v} IS NULL{cell_ok}",
                 Check("type", col.name, src, f"{label}: cannot be read as {col.type.lower()}"))
        if col.type.upper() in ("TIMESTAMP", "DATE"):
            horizon = default_horizon(business_tz, future_days)
            fail(f"{v} >= {p.bind(horizon)}",
                 Check("in_range", col.name, src, f"{label}: later than {horizon - dt.timedelta(days=1):%Y-%m-%d}, "
                       "the last day a load accepts (`future_days` in the config's [load] section); correct the date"))
        codes = model.extended(col.allowed)  # with the codes the config adds
        if codes:
            fail(f"{v} NOT IN ({', '.join(p.bind(code) for code in codes)})",
                 Check("known_value", col.name, src, f"{label}: unknown value; expected one of "
                       f"{', '.join(codes)} (or map it with `values:` in the mapping)"))
        if col.min is not None:
            fail(f"{v} < {p.bind(col.min)}", Check("in_range", col.name, src, f"{label}: below the minimum {col.min:g}"))
        if col.max is not None:
            fail(f"{v} > {p.bind(col.max)}", Check("in_range", col.name, src, f"{label}: above the maximum {col.max:g}"))
        if col.references:
            rtable, rcol = col.references
            if referenced_tables_nonempty.get(rtable, False):
                alias = f"ref_{col.name}"
                # A table's own key is unique already (the merge keeps one row per key).
                distinct = "" if model.TABLES[rtable].key == (rcol,) else "DISTINCT "
                joins.append(f"LEFT JOIN (SELECT {distinct}{rcol} AS k FROM {rtable}) {alias} ON {alias}.k = s.{v}")
                ref_conds.append(f"s.{v} IS NOT NULL AND {alias}.k IS NULL")
                fail(ref_conds[-1],
                     Check("known_reference", col.name, src, f"{label}: not found in {rtable}.{rcol}; load the "
                           f"{rtable} master data first, or correct the code"))
            else:
                skipped.append(f"{col.name} → {rtable} (empty)")

    # Key and required columns: per row in snapshot mode; after folding in events mode.
    for col in tdef.columns:
        is_key = col.name in tdef.key
        if not (is_key or col.required):
            continue
        spec = specs.get(col.name)
        src = spec.source if spec else None
        check = Check("key_present" if is_key else "required", col.name, src,
                      f"{src or col.name}: {'key' if is_key else 'required value'} is empty")
        has_text = spec is not None and (spec.source is None or spec.source in raw_types)
        # An unreadable value is a `type` failure already; `required` is for values that are absent.
        if is_key or mapping.mode == "snapshot":
            fail(f"t_{col.name} IS NULL" if has_text else f"v_{col.name} IS NULL", check)
        else:
            post.append((check, f"v_{col.name} IS NULL"))
    for earlier, later in tdef.ordered:
        if earlier not in specs or later not in specs:
            continue
        check = Check("order_of_events", later, specs[later].source,
                      f"{specs[later].source or later} is before {specs[earlier].source or earlier}")
        cond = f"v_{later} < v_{earlier}"
        if mapping.mode == "snapshot":
            fail(cond, check)
        else:
            post.append((check, cond))

    version = "CAST(NULL AS BIGINT)"
    if mapping.version_column:
        # Only trimmed: an empty version is a `type` failure, not a missing one.
        layers.add(0, trimmed(mapping.version_column, nfkc=True), "t__v")
        if mapping.version_type == "integer":
            version = "TRY_CAST(TRY_CAST(t__v AS DOUBLE) AS BIGINT)"
        else:
            layers.add(0, f"r.{quote_ident(mapping.version_column)}", "s__v")
            parse = _parse(model.Column("_v", "TIMESTAMP", ""), ColumnSpec("_v", source=mapping.version_column),
                           "t__v", "s__v", mapping, raw_types.get(mapping.version_column, "VARCHAR"), business_tz, p)
            layers.add(3, parse.pre, "p__v")
            version = f"epoch_us({parse.final})"
        fail("t__v IS NOT NULL AND _v IS NULL",
             Check("type", None, mapping.version_column, f"{mapping.version_column}: version cannot be read as "
                   f"{mapping.version_type}"))
    layers.add(4, version, "_v")
    layers.add(4, _order_value(mapping, mapping.tie_column, mapping.tie_type, "_t", layers, raw_types, business_tz, p,
                               fail), "_t")
    vcols = ", ".join(f"s.v_{c.name}" for c in tdef.columns)
    # Most rows pass: the main pass computes one boolean; the list of failed checks is computed
    # only for the rows that failed, in a second pass over them.
    bad = " OR ".join(f"coalesce({c}, FALSE)" for c in conds) if conds else "FALSE"
    fail_list = (f"list_filter([{', '.join(f'CASE WHEN {c} THEN {i} END' for i, c in enumerate(conds))}], "
                 "lambda x: x IS NOT NULL)") if conds else "[]::INTEGER[]"
    ref_joins = "\n".join(joins)
    reference_sql = None
    if positional is None:
        sql = f"SELECT s._rid, {vcols}, s._v, s._t, ({bad}) AS _bad\nFROM ({layers.sql('raw', ['_rid'])}) s\n{ref_joins}"
    else:
        # The raw values ride along and are kept for the failing rows only (the quarantine's
        # need), as one list: a NULL costs next to nothing, where a copy of every cell's text
        # cost 22 CPU seconds of the 10M tickets file (and one list column is cheaper to store
        # than one column each).
        relation, columns = positional
        names = [f"r__{i}" for i in range(len(columns))]
        head = [f"r.{quote_ident(c)} AS {n}" for c, n in zip(columns, names, strict=True)]
        row_bad = " OR ".join(f"coalesce({c}, FALSE)" for c in conds if c not in ref_conds) or "FALSE"
        inner = (f"SELECT {vcols}, s._v, s._t, ({row_bad}) AS _bad, {', '.join(f's.{n}' for n in names)}\n"
                 f"FROM ({layers.sql(relation, head)}) s")
        sql = (f"SELECT * EXCLUDE ({', '.join(names)}), _bad AS _raw_kept, "
               f"CASE WHEN _bad THEN [{', '.join(names)}] END AS _raw FROM ({inner})")
        if ref_conds:
            reference_sql = (f"SELECT s._rid FROM staged s\n{ref_joins}\n"
                             f"WHERE {' OR '.join(f'coalesce({c}, FALSE)' for c in ref_conds)}")
    failing = "(SELECT * FROM raw_failed WHERE _rid IN (SELECT _rid FROM bad_rids))"
    fails_sql = f"SELECT s._rid, {fail_list} AS _fails\nFROM ({layers.sql(failing, ['_rid'])}) s\n{ref_joins}"
    return StageSQL(sql, fails_sql, p.values, checks, post, skipped, reference_sql)
