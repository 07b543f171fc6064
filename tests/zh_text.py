"""What a Chinese reader sees, gathered and checked for English: the words a page or a report
shows in zh must be Chinese, apart from codes (ticket ids, outlet codes, product models, part
numbers: anything with a digit), units and a short allow-list of names a Chinese manager uses as
they are (KPI codes such as NPS, file formats, Excel). Missing values must never show as
None / nan / null / NaT.

Used by tests/test_zh_walk.py (every dashboard page and section, every report format).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

# Words allowed in the Chinese version, as written (case matters: "sla" or "Csv" would be a leak).
ALLOWED = frozenset({
    # KPI and industry codes a Chinese after-sales manager uses as they are
    "NPS", "CSAT", "SLA", "MTTR", "KPI", "P90", "P50", "ID", "SKU",
    # file formats and the tools that open them
    "CSV", "Excel", "XLSX", "PDF", "HTML", "UTF", "BOM", "SHA",
    # the forecast models' own names, always beside a Chinese description
    "Prophet", "MSTL", "ADIDA", "TSB", "ETS", "ARIMA", "ADI", "CV",
    # units and calendar
    "Q", "MB",
})
# Units written in Latin letters in Chinese text too.
ALLOWED_UNITS = frozenset({"kg", "g", "km", "m", "cm", "mm", "ml", "L", "kW", "W", "V"})
# A run of ASCII letters (with digits, dots, dashes or underscores inside it): one "word".
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]*[A-Za-z0-9]|[A-Za-z0-9]")
_MISSING = re.compile(r"(?<![A-Za-z])(None|nan|NaN|null|NULL|NaT|undefined|Infinity|inf)(?![A-Za-z])")
# Markup that is not text: HTML tags, Plotly's %{...} placeholders, d3 formats, Markdown badges,
# Streamlit's material icons and colour directives, URLs and e-mail addresses.
# Commands in backticks, file names and paths are what the reader types or finds on disk, as written.
_MARKUP = re.compile(r"`[^`]*`|<[^>]+>|%\{[^}]*\}|:material/[a-z_]+:|:[a-z]+-badge\[|:[a-z]+\[|\]\(|https?://\S+|"
                     r"[\w.]+@[\w.]+|&[a-z]+;|(?:/[\w.\-]+)+|[\w\-]+\.(?:duckdb|csv|xlsx|xls|parquet|json|yaml|yml|toml|"
                     r"txt|html|pdf|log)\b")


def leaks(text: str) -> list[str]:
    """The English words (and missing-value spellings) in ``text`` that a zh reader would see."""
    found = [m.group(1) for m in _MISSING.finditer(text)]
    clean = _MARKUP.sub(" ", text)
    for m in _WORD.finditer(clean):
        word = m.group(0)
        if re.fullmatch(r"[\d.,]+[a-z]+", word) and word.lstrip("0123456789.,") not in ALLOWED_UNITS:
            found.append(word)  # a number with an English unit: 0–1d, 48h, 1.2pp
            continue
        if any(ch.isdigit() for ch in word) or not any(ch.isalpha() for ch in word):
            continue  # a code (WD0001, KFR-35GW, 2026-W44, P-0012) or a number
        if re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)+", word):
            continue  # a kebab-case identifier: a mapping's source name (tmall-taobao-aftersales-csv)
        if (len(word) == 1 and word.isupper()) or word in ALLOWED or all(part in ALLOWED for part in re.split(r"[-_/.]", word) if part):
            continue
        found.append(word)
    return found


def check(texts: Iterable[tuple[str, str]]) -> list[str]:
    """``(where, text)`` pairs -> one line per text that leaks, saying where and what."""
    out = []
    for where, text in texts:
        bad = leaks(text)
        if bad:
            out.append(f"{where}: {sorted(set(bad))} in {text[:160]!r}")
    return out


# -- Streamlit's AppTest: every string a page puts on screen --------------------------------------

# Proto fields that hold identifiers, formats or settings, never text for the reader.
_SKIP_FIELDS = {"id", "form_id", "key", "icon", "type", "format", "width", "height", "delta_color", "chart_type",
                "color", "mime", "url", "data", "selection_mode", "use_container_width", "spec", "theme",
                "default", "value_type", "scope", "anchor", "tooltip_format",
                "delta_arrow", "label_visibility", "placeholder_kind", "config", "element_hash", "file_id",
                "deploy_params", "page_script_hash", "column_config", "arrow_data", "styler", "editing_mode",
                "on_change_handler", "bind", "query_param_key", "default_value", "set_value", "date_format",
                "min", "max", "step", "vertical_alignment", "gap", "border", "direction", "justify"}


def _proto_strings(msg: Any, path: str = "") -> Iterator[tuple[str, str]]:
    from google.protobuf.message import Message

    for field, value in msg.ListFields():
        name = field.name
        if name in _SKIP_FIELDS:
            continue
        items = [value] if isinstance(value, str | bytes | Message) or not hasattr(value, "__len__") else value
        if field.type == field.TYPE_MESSAGE:
            for item in items:
                if isinstance(item, Message):
                    yield from _proto_strings(item, f"{path}.{name}")
        elif field.type == field.TYPE_STRING:
            for item in items:
                if item:
                    yield f"{path}.{name}", item


# Figure keys holding settings, styles or the drill-down's codes, never words for the reader.
_FIGURE_SETTINGS = frozenset({"customdata", "meta", "font", "marker", "line", "colorscale", "tickformat", "hoverformat",
                              "legendgroup", "uid", "template", "type", "mode", "orientation", "fill", "fillcolor",
                              "xref", "yref", "anchor", "showlegend", "zmid", "textposition", "alignmentgroup",
                              "offsetgroup", "hoverinfo", "xhoverformat", "yhoverformat"})


def _figure_strings(spec: str) -> Iterator[str]:
    """The words a Plotly figure shows: titles, names, texts, hover templates, tick texts,
    category axis values (not colours, fonts, formats or the drill-down's customdata)."""
    fig = json.loads(spec)
    shown = {"text", "name", "hovertemplate", "ticktext", "x", "y", "labels", "title", "texttemplate",
             "hovertext", "header", "values"}

    def walk(node: Any, key: str = "") -> Iterator[str]:
        if isinstance(node, dict):
            for k, v in node.items():
                if k not in _FIGURE_SETTINGS:
                    yield from walk(v, k)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v, key)
        elif isinstance(node, str) and key in shown:
            yield node

    layout = fig.get("layout", {})
    yield from walk(fig.get("data", []))
    for k, v in layout.items():
        if k.startswith(("xaxis", "yaxis")) or k in ("title", "annotations", "legend", "coloraxis", "shapes"):
            yield from walk(v, "title" if k == "title" else "")


def apptest_texts(at: Any, where: str) -> list[tuple[str, str]]:
    """Every reader-facing string of an AppTest run: element texts, labels, options, help,
    table headers and cells, chart texts."""
    out: list[tuple[str, str]] = []

    def visit(node: Any) -> None:
        proto = getattr(node, "proto", None)
        kind = type(node).__name__
        if kind == "Dataframe":
            frame = node.value
            # a missing value shows as the table's placeholder, Streamlit's "None" unless one is set
            missing = proto.placeholder if proto.HasField("placeholder") else "None"
            out.extend((f"{where} table header", str(c)) for c in frame.columns)
            for c in frame.columns:
                for v in frame[c].tolist():
                    if isinstance(v, str | bool) or v is None or (isinstance(v, float) and v != v):
                        out.append((f"{where} table cell [{c}]", _cell(v, missing)))
        elif proto is not None and type(proto).__name__ == "PlotlyChart":
            out.extend((f"{where} chart", s) for s in _figure_strings(proto.spec))
        elif proto is not None and hasattr(proto, "ListFields"):
            out.extend((f"{where} {kind}{field}", s) for field, s in _proto_strings(proto))
        for child in getattr(node, "children", {}).values() if isinstance(getattr(node, "children", None), dict) \
                else []:
            visit(child)

    visit(at._tree)
    return out


def _cell(v: Any, missing: str) -> str:
    # What a table shows for the value: a boolean is drawn as a checkbox (no words).
    if isinstance(v, bool):
        return ""
    if v is None or isinstance(v, float):
        return missing
    return v
