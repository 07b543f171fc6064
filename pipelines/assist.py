"""The mapping assistant's draft: `aftersales map suggest FILE` reads a file's headers and a
sample of its values and writes a mapping file to start from (docs/MAPPING.md, "The mapping
assistant"). It guesses; a person reads the draft (its comments say what was guessed and what is
left open) and `aftersales map check` tries it without writing anything."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from aftersales import i18n, model
from aftersales.errors import UserError
from pipelines import synonyms
from pipelines.mapping import Mapping
from pipelines.read import ROW, SHEET, file_format, read_file

SAMPLE_ROWS = 5_000
TIME_TYPES = ("TIMESTAMP", "DATE")


def normalise(text: str) -> str:
    return re.sub(r"[\s_\-./()（）:：]+", "", str(text).strip().lower())


def _long_enough(word: str) -> bool:
    """A word short enough to sit inside unrelated headers (`id` in `paid`) only counts whole."""
    return len(word) >= (2 if any(ord(ch) > 0x2E80 for ch in word) else 4)


@dataclass
class Sample:
    headers: list[str]
    frame: pl.DataFrame  # up to SAMPLE_ROWS rows, every value as text
    encoding: str | None
    format: str
    delimiter: str
    header_row: int = 1


def _unnamed(headers: list[str]) -> float:
    return sum(not h.strip() or h.startswith("__UNNAMED__") or h.startswith("column_") for h in headers) / max(
        len(headers), 1)


def _sniff_delimiter(path: Path) -> str:
    head = path.read_bytes()[:65536].split(b"\n", 1)[0].decode("utf-8", "ignore")
    counts = {d: head.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_sample(path: Path) -> Sample:
    """The headers and the first rows of a file, read the way the loader reads it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: 文件不存在 (no such file)")
    delimiter = _sniff_delimiter(path) if path.suffix.lower() in (".csv", ".tsv", ".txt") else ","
    draft = Mapping(source="draft", table="tickets", columns=(), delimiter=delimiter)
    fmt = file_format(path, draft)
    raw = read_file(path, draft, direct_csv=False)
    header_row = 1
    # A title above the headers (a merged cell): the header row is the first one that names its columns.
    while raw.frame is not None and _unnamed(raw.columns) > 0.5 and header_row < 6:
        raw.cleanup()
        header_row += 1
        draft = Mapping(source="draft", table="tickets", columns=(), delimiter=delimiter, header_row=header_row)
        raw = read_file(path, draft, direct_csv=False)
    try:
        if raw.frame is not None:
            frame = raw.frame.drop([c for c in (ROW, SHEET) if c in raw.frame.columns]).head(SAMPLE_ROWS)
        else:
            frame = pl.read_parquet(raw.parquet_path, n_rows=SAMPLE_ROWS)
        frame = frame.select([pl.col(c).cast(pl.String) for c in frame.columns])
    finally:
        raw.cleanup()
    return Sample(list(frame.columns), frame, raw.encoding, fmt, delimiter, header_row)


def _words(col: model.Column) -> list[str]:
    return [normalise(w) for w in (col.name.replace("_", " "), col.zh, *synonyms.COLUMNS.get(col.name, ()))]


def _header_score(header: str, col: model.Column) -> float:
    h = normalise(header)
    words = _words(col)
    if h in words:
        return 3.0 - words.index(h) / 1000  # earlier synonyms are the likelier meaning
    best = 0.0
    for w in words:
        if (_long_enough(w) and w in h) or (_long_enough(h) and h in w):
            best = max(best, 1.0 + min(len(w), len(h)) / max(len(w), len(h)))
    return best


def choose_table(headers: list[str]) -> str:
    """The canonical table whose columns the headers name best (key columns count double)."""
    def score(t: model.Table) -> float:
        total = 0.0
        for col in t.columns:
            s = max((_header_score(h, col) for h in headers), default=0.0)
            total += (2 if col.name in t.key else 1) * (s >= 1.5) + 0.5 * (s >= 3)
        return total / (len(t.columns) ** 0.5)
    return max(model.TABLES.values(), key=score).name


def match_headers(headers: list[str], table: model.Table) -> dict[str, str]:
    """canonical column -> header: the best pairs first, each header used once."""
    pairs = sorted(((_header_score(h, col), -i, col.name, h) for col in table.columns
                    for i, h in enumerate(headers)), reverse=True)
    out: dict[str, str] = {}
    used: set[str] = set()
    for score, _, name, header in pairs:
        if score < 1.5 or name in out or header in used:
            continue
        out[name] = header
        used.add(header)
    return out


def _values(frame: pl.DataFrame, header: str, nulls: set[str]) -> list[str]:
    vals = frame.get_column(header).drop_nulls().to_list()
    return [v.strip() for v in vals if v is not None and v.strip() not in nulls]


def _parses(value: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(value, fmt)
        return True
    except ValueError:
        return False


def _excel_serial(value: str) -> bool:
    try:
        return 20000 <= float(value) <= 80000
    except ValueError:
        return False


def guess_formats(values: list[str]) -> list[str]:
    """Candidate formats that together read (almost) every sampled value, the most used first:
    exports often mix two or three formats in one column."""
    # Excel serial day numbers (45296.38) need no format: the loader reads them as they are.
    left = [v for v in dict.fromkeys(values) if not _excel_serial(v)][:500]
    total, chosen = len(left), []
    while left and len(left) > 0.02 * total:
        best = max(synonyms.DATETIME_FORMATS, key=lambda f: sum(_parses(v, f) for v in left))
        covered = [v for v in left if _parses(v, best)]
        if not covered:
            break
        chosen.append(best)
        left = [v for v in left if v not in set(covered)]
    return chosen if not left or len(left) <= 0.02 * total else []


def guess_codes(column: str, allowed: dict[str, str], values: list[str]) -> tuple[dict[str, str], list[str]]:
    """value -> code for the distinct sampled values that are not codes already, and the values
    left unmatched."""
    en = i18n.EN_CODES.get(column, {})
    words = synonyms.VALUES.get(column, {})
    mapped, unknown = {}, []
    for value in dict.fromkeys(values):
        v = normalise(value)
        if value in allowed:
            continue
        exact = [c for c in allowed if v in (normalise(c), normalise(allowed[c]), normalise(en.get(c, "")))
                 or v in (normalise(w) for w in words.get(c, ()))]
        if exact:
            mapped[value] = exact[0]
            continue
        hits = [(len(w), c) for c in allowed for w in (allowed[c], *words.get(c, ())) if _long_enough(normalise(w))
                and normalise(w) in v]
        if hits:
            mapped[value] = max(hits)[1]
        else:
            unknown.append(value)
    return mapped, unknown


@dataclass
class Draft:
    table: str
    columns: dict[str, Any]  # canonical column -> header or {column:, values:, take:, ...}
    mode: str = "snapshot"
    version: dict[str, str] | None = None
    datetime_formats: list[str] = field(default_factory=list)
    null_values: list[str] = field(default_factory=lambda: [""])
    notes: list[str] = field(default_factory=list)  # 中文, shown as comments
    encoding: str | None = None
    delimiter: str = ","
    format: str = "auto"
    header_row: int = 1


def suggest(path: Path, table: str | None = None) -> Draft:
    """A draft mapping for `path` from its headers and sampled values."""
    sample = read_sample(path)
    headers, frame = sample.headers, sample.frame
    if table is not None and table not in model.TABLES:
        raise UserError(f"表 {table!r} 不是标准表;可选: {', '.join(model.TABLES)}")
    tname = table or choose_table(headers)
    tdef = model.TABLES[tname]
    found = match_headers(headers, tdef)
    markers = [m for m in synonyms.NULL_MARKERS if m and any(
        (frame.get_column(h) == m).any() for h in headers)]
    nulls = {"", *markers}
    draft = Draft(tname, {}, null_values=["", *markers], encoding=sample.encoding, delimiter=sample.delimiter,
                  format=sample.format, header_row=sample.header_row)
    formats: Counter[str] = Counter()
    for col in tdef.columns:
        header = found.get(col.name)
        if header is None:
            continue
        values = _values(frame, header, nulls)
        entry: dict[str, Any] = {"column": header}
        if col.type.upper() in TIME_TYPES and sample.format != "parquet":  # Parquet keeps its types
            found_formats = guess_formats(values)
            for fmt in found_formats:
                formats[fmt] += 1
            if values and not found_formats:
                draft.notes.append(f"{header}: 未能识别日期格式 (例: {values[0]}),请在 datetime_formats 中写明")
        codes = col.allowed or ({"true": "是", "false": "否"} if col.type.upper() == "BOOLEAN" else None)
        if codes:
            mapped, unknown = guess_codes(col.name if col.allowed else "is_complaint", codes, values)
            if mapped:
                entry["values"] = mapped
            if unknown:
                draft.notes.append(f"{header}: 这些值未能对应到代码,请在 values 中补上: {', '.join(unknown[:10])}")
        draft.columns[col.name] = entry if len(entry) > 1 else header
    draft.datetime_formats = [f for f, _ in formats.most_common()]
    _key_and_version(draft, tdef, frame, found, nulls)
    missing = [c.name for c in tdef.columns if (c.required or c.name in tdef.key) and c.name not in draft.columns]
    if missing:
        draft.notes.append(f"必填列未找到对应表头: {', '.join(missing)};请写 column: 表头,或 constant: 值")
    return draft


def _key_and_version(draft: Draft, tdef: model.Table, frame: pl.DataFrame, found: dict[str, str],
                     nulls: set[str]) -> None:
    """Snapshot or event log, and the version column: from how often the key repeats."""
    if len(tdef.key) != 1 or tdef.key[0] not in found:
        return
    keys = _values(frame, found[tdef.key[0]], nulls)
    repeats = len(keys) > 0 and len(set(keys)) < 0.8 * len(keys)
    times = [c for c in ("updated_at", "created_at", "responded_at", "started_at") if c in found
             and tdef.column(c).type.upper() == "TIMESTAMP"]
    if "updated_at" in found:
        draft.version = {"column": found["updated_at"], "type": "datetime"}
    if not repeats:
        return
    if draft.version is None and times:
        draft.version = {"column": found[times[0]], "type": "datetime"}
    if draft.version is None:
        draft.notes.append(f"{found[tdef.key[0]]} 有重复值但没有版本列 (更新时间或序号): 请在 version 中写明")
        return
    if tdef.name != "tickets":
        return
    # One row per change of a ticket: an event log. Its times come from the rows of the ticket.
    draft.mode = "log"
    t = draft.version["column"]
    draft.notes.append(f"{found['ticket_id']} 重复出现 (平均每个 {len(keys) / len(set(keys)):.1f} 行): "
                       "按事件流水 (mode: log) 起草,创建/完成/更新时间取自同一工单的不同行")
    for name in ("created_at", "resolved_at", "closed_at", "updated_at"):
        current = draft.columns.get(name)
        if current not in (None, t) and not (isinstance(current, dict) and current.get("column") == t):
            continue
        if name == "created_at":
            draft.columns[name] = {"column": t, "take": "first"}
        elif name == "updated_at":
            draft.columns[name] = {"column": t, "take": "last"}
        elif "status" in draft.columns:
            codes = ["resolved", "closed"] if name == "resolved_at" else ["closed"]
            draft.columns[name] = {"column": t, "take": "first" if name == "resolved_at" else "last",
                                   "where": {"status": codes}}
    if "status" in draft.columns and "reopen_count" in tdef.column_names:
        # Left completed for another status: a reopening.
        draft.columns["reopen_count"] = {"take": "transitions", "of": "status", "from": ["resolved", "closed"]}


def render(draft: Draft, path: Path) -> str:
    """The draft as a commented mapping file."""
    tdef = model.TABLES[draft.table]
    stem = re.sub(r"[\d_\-]+$", "", Path(path).stem).lower()
    stem = re.sub(r"[^0-9a-z]+", "-", stem.encode("ascii", "ignore").decode()).strip("-")
    name = f"draft-{stem or draft.table}-{draft.format}"
    lines = [f"# 映射草稿 (aftersales map suggest {Path(path).name}):由表头和抽样值推测,请逐项核对。",
             "# 核对后试运行: aftersales map check FILE --mapping 本文件 (不写入数据库)"]
    lines += [f"# 注意: {n}" for n in draft.notes]
    doc: dict[str, Any] = {"source": name, "table": draft.table,
                           "description": f"{tdef.zh} - {Path(path).name} 的映射草稿",
                           "match": [re.sub(r"[\d_\-]+$", "", Path(path).stem) + "*" + Path(path).suffix.lower()]}
    if draft.format == "csv":
        doc["format"] = "csv"
        doc["encoding"] = {"gb18030": "gbk"}.get(draft.encoding or "", draft.encoding or "auto")
        doc["delimiter"] = draft.delimiter
    elif draft.format == "xlsx":
        doc["format"] = "xlsx"
        doc["sheet"] = "all"
    if draft.header_row != 1:
        doc["header_row"] = draft.header_row
    if draft.datetime_formats:
        doc["datetime_formats"] = draft.datetime_formats
    doc["null_values"] = draft.null_values
    doc["mode"] = draft.mode
    if draft.version:
        doc["version"] = draft.version
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=110, default_flow_style=None)
    text += "columns:\n"
    for target, entry in draft.columns.items():
        if isinstance(entry, str):
            text += f"  {target}: {yaml.safe_dump([entry], allow_unicode=True, default_flow_style=True).strip()[1:-1]}\n"
        else:
            text += "".join(f"  {line}\n" for line in yaml.safe_dump(
                {target: entry}, allow_unicode=True, sort_keys=False, width=106, default_flow_style=None).splitlines())
    unmapped = [c.name for c in tdef.columns if c.name not in draft.columns]
    tail = [f"# 未映射的标准列 (留空): {', '.join(unmapped)}"] if unmapped else []
    return "\n".join(lines) + "\n" + text + "\n".join(tail) + ("\n" if tail else "")


@dataclass
class Score:
    """How much of a known-good mapping a draft got right."""

    file: str
    table_right: bool
    fields_right: int
    fields: int  # canonical columns the known-good mapping reads from a header of the file
    values_right: int
    values: int  # value-map entries of the known-good mapping for values seen in the sample
    version_right: bool
    wrong: list[str]
    not_in_file: list[str]  # columns the known-good mapping sets without a header (constants, counts)


def score(path: Path, truth: Mapping) -> Score:
    """Compare the draft for `path` with `truth`: a field is right when the draft reads the same
    canonical column from the same header. Columns the known-good mapping fills without a header
    (a `constant`, a count of rows) cannot be read off a file and are listed apart. A value-map
    entry is right when the draft maps that source value to the same code."""
    draft = suggest(path)
    sample = read_sample(path)
    seen = {h: set(_values(sample.frame, h, set(truth.null_values) | {""})) for h in sample.headers}
    right = values_right = n_values = 0
    wrong, apart = [], []
    for spec in truth.columns:
        if spec.source is None:
            apart.append(spec.target)
            continue
        got = draft.columns.get(spec.target) if draft.table == truth.table else None
        header = got.get("column") if isinstance(got, dict) else got
        if header == spec.source:
            right += 1
        else:
            wrong.append(f"{spec.target}: {header or '-'} (应为 {spec.source})")
        got_values = got.get("values", {}) if isinstance(got, dict) else {}
        for src, code in spec.values.items():
            if src not in seen.get(spec.source, set()):
                continue
            n_values += 1
            values_right += got_values.get(src, src if src == str(code) else None) == str(code).lower()
    version_right = (truth.version_column or None) == (draft.version or {}).get("column")
    return Score(path.name, draft.table == truth.table, right, len(truth.columns) - len(apart), values_right,
                 n_values, version_right, wrong, apart)
