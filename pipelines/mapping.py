"""Source mapping files: how one kind of export maps onto one canonical table (docs/MAPPING.md)."""

from __future__ import annotations

import codecs
import fnmatch
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aftersales import model
from aftersales.errors import UserError
from pipelines import fold

BUILTIN_DIR = Path(__file__).with_name("mappings")
DEFAULT_NULLS = ("", "NULL", "null", "None", "N/A", "NA", "-", "--", "无", "空")
FORMATS = ("auto", "csv", "xlsx", "parquet")
# `encoding: auto` chooses among UTF-8, UTF-16 with BOM and GB18030 (pipelines/encoding.py);
# any other Python codec name is accepted when a mapping names it.
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "utf-16", "gbk", "gb18030", "gb2312")
# White space trimmed from both ends of every value and header: Unicode's White_Space
# characters (tab, line ends, NBSP, the ideographic space U+3000, …) and the invisible
# zero-width ones exports leave behind (U+200B..U+200D, U+2060, the BOM U+FEFF).
WHITESPACE = "".join(chr(c) for c in (*range(9, 14), 32, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200E), 0x2028,
                                      0x2029, 0x202F, 0x205F, 0x2060, 0x3000, 0xFEFF))


def normalise_text(value: str) -> str:
    """A key, code or number as compared and parsed: Unicode NFKC (full-width ＡＢ１２ → AB12,
    the ideographic space → a space), then white space trimmed at both ends (docs/MAPPING.md)."""
    return unicodedata.normalize("NFKC", value).strip(WHITESPACE)


def normalise_header(name: str) -> str:
    """A header as matched against a mapping's source names (same rule as keys)."""
    return normalise_text(name)


CANONICAL_PREFIX = "canonical-"


@dataclass(frozen=True)
class ColumnSpec:
    target: str
    source: str | None = None  # header in the file
    constant: Any = None
    values: dict[str, Any] = field(default_factory=dict)
    formats: tuple[str, ...] = ()
    optional: bool = False
    agg: Any = None  # mode log: how the rows of one key fold into this column (pipelines.fold.Aggregate)
    default: Any = None  # `values:`'s `else:` entry (or `default:`): what any other non-empty value maps to


@dataclass(frozen=True)
class Mapping:
    source: str
    table: str
    columns: tuple[ColumnSpec, ...]
    description: str = ""
    match: tuple[str, ...] = ()
    format: str = "auto"
    encoding: str = "auto"
    delimiter: str = ","
    sheet: str = "all"
    header_row: int = 1
    timezone: str | None = None
    datetime_formats: tuple[str, ...] = ()
    null_values: tuple[str, ...] = DEFAULT_NULLS
    mode: str = "snapshot"
    version_column: str | None = None
    version_type: str = "datetime"
    version_optional: bool = False  # canonical files may or may not carry updated_at
    tie_order: tuple[tuple[str, tuple[str, ...]], ...] = ()  # mode log: order of rows with equal versions
    # Rows of one key with the same version (or, without a version, any rows of one key) and
    # different values: without a tie-break they are quarantined (`duplicate_key`). "last_row":
    # the last such row in the file wins; "column": the `tie_column` value decides (higher wins).
    tie_break: str | None = None
    tie_column: str | None = None
    tie_type: str = "integer"
    max_quarantined_share: float | None = None  # above it the file is refused (default: the config's)
    path: str = "<built-in>"

    def matches(self, file_name: str) -> bool:
        name = file_name.lower()
        return any(fnmatch.fnmatch(name, pattern.lower()) for pattern in self.match)

    @property
    def table_def(self) -> model.Table:
        return model.TABLES[self.table]


def _fail(path: str, what: str) -> UserError:
    return UserError(f"mapping {path}: {what}; see docs/MAPPING.md")


def parse_mapping(raw: dict[str, Any], path: str) -> Mapping:
    """Check a mapping document and turn it into a Mapping; every mistake names the key."""
    if not isinstance(raw, dict):
        raise _fail(path, "the file must be a YAML mapping of keys")
    known = {"source", "table", "description", "match", "format", "encoding", "delimiter", "sheet", "header_row",
             "timezone", "datetime_formats", "null_values", "mode", "version", "columns", "tie_order", "tie_break",
             "max_quarantined_share"}
    unknown = set(raw) - known
    if unknown:
        raise _fail(path, f"unknown key(s) {sorted(unknown)}; valid keys: {sorted(known)}")
    for key in ("source", "table", "columns"):
        if key not in raw:
            raise _fail(path, f"`{key}` is required")
    table = raw["table"]
    if table not in model.TABLES:
        raise _fail(path, f"table {table!r} is not a canonical table; valid: {', '.join(model.TABLES)}")
    tdef = model.TABLES[table]
    fmt = raw.get("format", "auto")
    if fmt not in FORMATS:
        raise _fail(path, f"format {fmt!r} is not one of {FORMATS}")
    enc = str(raw.get("encoding", "auto")).lower()
    if enc not in ENCODINGS:
        try:
            codecs.lookup(enc)
        except LookupError:
            raise _fail(path, f"encoding {enc!r} is not a known character set; use auto, or one of "
                        f"{ENCODINGS[1:]} (any Python codec name is accepted)") from None
    mode = raw.get("mode", "snapshot")
    if mode == "events":
        # An update log carrying only the fields it sets is an event log whose every field takes
        # its latest non-empty value: stored as events, so that its records do not depend on how
        # the log was split into files or the order they were loaded (pipelines/fold.py).
        mode = "log"
    if mode not in ("snapshot", "log"):
        raise _fail(path, f"mode {mode!r} must be snapshot, events or log")
    if not isinstance(raw["columns"], dict) or not raw["columns"]:
        raise _fail(path, "`columns` must map canonical column names to source headers")
    specs = []
    for target, spec in raw["columns"].items():
        if target not in tdef.column_names:
            raise _fail(path, f"column {target!r} is not in table {table}; valid: {', '.join(tdef.column_names)}")
        if isinstance(spec, str):
            spec = {"column": spec}
        if not isinstance(spec, dict):
            raise _fail(path, f"column {target!r} needs either a header string, `column:` or `constant:`")
        agg = fold.parse_take(spec, target, tdef, mode, lambda what: _fail(path, what))
        if ("column" in spec) == ("constant" in spec) and not (agg and agg.take in fold.COUNT_TAKES):
            raise _fail(path, f"column {target!r} needs either a header string, `column:` or `constant:`")
        bad = set(spec) - {"column", "constant", "values", "formats", "optional", "default", "take", "where", "of",
                           "from", "to"}
        if bad:
            raise _fail(path, f"column {target!r} has unknown key(s) {sorted(bad)}")
        if spec.get("values") is not None and not isinstance(spec["values"], dict):
            raise _fail(path, f"column {target!r}: `values` must map source values to codes")
        values = {normalise_text(str(k)): v for k, v in (spec.get("values") or {}).items()}
        default = values.pop(ELSE, None)
        if "default" in spec:
            if default is not None:
                raise _fail(path, f"column {target!r}: give the default once, as `else:` in `values` or as `default:`")
            default = spec["default"]
        if default is not None and "column" not in spec:
            raise _fail(path, f"column {target!r}: a default (`else:`) needs a `column:` to apply to")
        specs.append(ColumnSpec(target, source=normalise_header(str(spec["column"])) if "column" in spec else None,
                                constant=spec.get("constant"), values=values,
                                formats=tuple(spec.get("formats") or ()), optional=bool(spec.get("optional", False)),
                                default=default,
                                agg=agg or (fold.Aggregate() if mode == "log" else None)))
    for spec in specs:
        _check_codes(path, tdef.column(spec.target), spec)
    mapped = {s.target for s in specs}
    missing = [c.name for c in tdef.columns if (c.required or c.name in tdef.key) and c.name not in mapped]
    if missing and mode == "snapshot":
        raise _fail(path, f"required column(s) {missing} of {table} are not mapped")
    missing_keys = [k for k in tdef.key if k not in mapped]
    if missing_keys:
        raise _fail(path, f"key column(s) {missing_keys} of {table} are not mapped")
    version = raw.get("version")
    vcol, vtype = None, "datetime"
    tie = raw.get("tie_break")
    if version is not None:
        if not isinstance(version, dict) or "column" not in version:
            raise _fail(path, "`version` must be {column: HEADER, type: datetime|integer}")
        if set(version) - {"column", "type", "tie_break"}:
            raise _fail(path, f"`version` has unknown key(s) {sorted(set(version) - {'column', 'type', 'tie_break'})}")
        vcol, vtype = normalise_header(str(version["column"])), version.get("type", "datetime")
        if vtype not in ("datetime", "integer"):
            raise _fail(path, f"version type {vtype!r} must be datetime or integer")
        if "tie_break" in version:
            if tie is not None:
                raise _fail(path, "give `tie_break` once (top level or inside `version`)")
            tie = version["tie_break"]
    tie_break, tie_column, tie_type = _parse_tie(path, tie)
    if mode == "log" and vcol is None:
        raise _fail(path, "mode log needs `version` (the event time or sequence number that orders a key's rows)")
    match = raw.get("match") or []
    return Mapping(
        source=str(raw["source"]), table=table, columns=tuple(specs), description=str(raw.get("description", "")),
        match=tuple([match] if isinstance(match, str) else match), format=fmt, encoding=enc,
        delimiter=str(raw.get("delimiter", ",")), sheet=str(raw.get("sheet", "all")),
        header_row=int(raw.get("header_row", 1)), timezone=raw.get("timezone"),
        datetime_formats=tuple(raw.get("datetime_formats") or ()),
        null_values=tuple(str(v) for v in raw.get("null_values", DEFAULT_NULLS)),
        mode=mode, version_column=vcol, version_type=vtype, path=path,
        tie_order=fold.parse_tie_order(raw.get("tie_order"), tdef, mode, lambda what: _fail(path, what)),
        tie_break=tie_break, tie_column=tie_column, tie_type=tie_type,
        max_quarantined_share=_share(path, raw.get("max_quarantined_share")),
    )


ELSE = "else"  # the `values:` entry every other non-empty value maps to
TIE_LAST_ROW = "last_row"


def _parse_tie(path: str, tie: Any) -> tuple[str | None, str | None, str]:
    """`tie_break: last_row`, or `tie_break: {column: HEADER, type: integer|datetime}`."""
    if tie is None:
        return None, None, "integer"
    if tie == TIE_LAST_ROW:
        return TIE_LAST_ROW, None, "integer"
    if isinstance(tie, dict) and "column" in tie and set(tie) <= {"column", "type"}:
        ttype = tie.get("type", "integer")
        if ttype not in ("datetime", "integer"):
            raise _fail(path, f"tie_break type {ttype!r} must be datetime or integer")
        return "column", str(tie["column"]).strip(), ttype
    raise _fail(path, "`tie_break` must be last_row (the last row in the file wins) or "
                      "{column: HEADER, type: integer|datetime} (a second version column; the higher wins)")


def _share(path: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise _fail(path, f"max_quarantined_share {value!r} must be a share between 0 and 1 (0.5 = half the rows)")
    return float(value)


def _check_codes(path: str, col: model.Column, spec: ColumnSpec) -> None:
    """A constant, a value map's codes and its default must be valid for the column: a mistake
    here is one mapping error, not one rejected row per row of every file."""
    codes = model.extended(col.allowed)
    vocab = model.vocabulary_of(col.allowed)
    extend = f", or add it to the config's [vocabularies.{vocab}]" if vocab else ""

    def known(value: Any, what: str) -> None:
        text = "true" if value is True else "false" if value is False else str(value).strip()
        if codes is not None and text not in codes:
            raise _fail(path, f"column {col.name!r}: {what} {value!r} is not a known code; valid: "
                              f"{', '.join(codes)}{extend}")
        if codes is None and not _readable(col.type, value):
            raise _fail(path, f"column {col.name!r}: {what} {value!r} cannot be read as {col.type.lower()}")

    if spec.source is None and spec.constant is not None:
        known(spec.constant, "constant")
    for source_value, code in spec.values.items():
        if code is not None:
            known(code, f"`values:` entry {source_value!r} →")
    if spec.default is not None:
        known(spec.default, "`else:` default")


def _readable(col_type: str, value: Any) -> bool:
    """Whether a constant (or a mapped value) parses as the column's type."""
    import datetime as dt

    from pipelines.stage import FALSE_WORDS, TRUE_WORDS  # stage imports this module: import when used

    typ, text = col_type.upper(), str(value).strip()
    try:
        if typ in ("TIMESTAMP", "DATE"):
            dt.datetime.fromisoformat(text)
        elif typ in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT"):
            if isinstance(value, float) and not value.is_integer():
                return False
            int(float(text))
        elif typ.startswith("DECIMAL"):
            float(text)
        elif typ == "BOOLEAN":
            return isinstance(value, bool) or text.lower() in TRUE_WORDS + FALSE_WORDS
    except ValueError:
        return False
    return True


def canonical_mapping(table: str) -> Mapping:
    """Identity mapping for files the generator writes: `<table>.parquet` / `<table>.csv`."""
    tdef = model.TABLES[table]
    version = "updated_at" if "updated_at" in tdef.column_names else None
    return Mapping(
        source=CANONICAL_PREFIX + table, table=table,
        columns=tuple(ColumnSpec(c.name, source=c.name, optional=not (c.required or c.name in tdef.key))
                      for c in tdef.columns),
        description=f"canonical columns of {table} (as written by `aftersales generate`)",
        match=(f"{table}.csv", f"{table}.parquet", f"{table}.xlsx", f"{table}_*.csv", f"{table}_*.parquet"),
        version_column=version, version_optional=True, null_values=("",),
    )


def mapping_dirs() -> list[Path]:
    dirs = [BUILTIN_DIR]
    extra = os.environ.get("AFTERSALES_MAPPINGS")
    if extra:
        dirs += [Path(p) for p in extra.split(os.pathsep) if p]
    return dirs


def all_mappings(extra_dirs: list[Path] | None = None) -> dict[str, Mapping]:
    """Every known mapping by source name: user directories, shipped YAML, then the canonical ones."""
    found: dict[str, Mapping] = {}
    for directory in (extra_dirs or []) + mapping_dirs():
        directory = Path(directory)
        if not directory.is_dir():
            raise UserError(f"mapping directory {directory} does not exist")
        for path in sorted(directory.glob("*.y*ml")):
            with open(path, encoding="utf-8") as fh:
                try:
                    doc = yaml.safe_load(fh)
                except yaml.YAMLError as exc:
                    raise _fail(str(path), f"is not valid YAML ({exc})") from exc
            m = parse_mapping(doc, str(path))
            found.setdefault(m.source, m)
    for table in model.TABLES:
        m = canonical_mapping(table)
        found.setdefault(m.source, m)
    return found


def choose_mapping(file: Path, mappings: dict[str, Mapping], source: str | None) -> Mapping:
    if source:
        if source not in mappings:
            raise UserError(f"{file}: unknown source {source!r}; known sources: {', '.join(sorted(mappings))} "
                            "(add a mapping file, see docs/MAPPING.md)")
        return mappings[source]
    for m in mappings.values():
        if m.matches(file.name):
            return m
    raise UserError(f"{file}: no mapping matches this file name; pass --source NAME (known: "
                    f"{', '.join(sorted(mappings))}) or add a mapping with a `match` glob (docs/MAPPING.md)")
