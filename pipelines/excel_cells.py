"""Excel cells that hold no data a person entered: error values (#DIV/0!, #N/A, …) and formulas
whose value Excel never calculated.

calamine (behind fastexcel) reads an error cell as empty and a formula by its cached value. A
workbook written by a program has no cached value (openpyxl) or a 0 in its place, with a flag
asking Excel to recalculate everything on opening (xlsxwriter's `fullCalcOnLoad`): a 0 that is no
amount. The worksheet XML says which cells are which; it is read here, streaming, and only for
sheets whose bytes contain a formula or an error cell at all.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

# The raw frame of a workbook has a column CELL_PREFIX + header for each column holding such
# cells, saying what each held; the staging query quarantines those rows (`type`).
CELL_PREFIX = "_excel_cell:"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MARKERS = re.compile(rb"<(\w+:)?f[ >/]|t=\"e\"")
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _sheet_paths(book: zipfile.ZipFile) -> tuple[dict[str, str], bool]:
    """Sheet name → its XML member, and whether the workbook asks for a full recalculation."""
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_REL}Relationship")}
    paths = {}
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"), "")
        member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        paths[sheet.get("name", "")] = member
    calc = workbook.find(f"{_MAIN}calcPr")
    full_calc = calc is not None and calc.get("fullCalcOnLoad") in ("1", "true")
    return paths, full_calc


def _has_markers(book: zipfile.ZipFile, member: str) -> bool:
    tail = b""
    with book.open(member) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            if _MARKERS.search(tail + block):
                return True
            tail = block[-8:]
    return False


def _shared_strings(book: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in book.namelist():
        return []
    out = []
    with book.open("xl/sharedStrings.xml") as fh:
        for _, el in ElementTree.iterparse(fh):
            if el.tag == f"{_MAIN}si":
                out.append("".join(t.text or "" for t in el.iter(f"{_MAIN}t")))
                el.clear()
    return out


def _cell_text(cell: ElementTree.Element, strings: list[str] | None) -> str | None:
    kind = cell.get("t")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(f"{_MAIN}t"))
    value = cell.find(f"{_MAIN}v")
    if value is None or value.text is None:
        return None
    if kind == "s" and strings is not None:
        index = int(value.text)
        return strings[index] if index < len(strings) else None
    return value.text


def problem_cells(path: Path, sheets: list[str], header_row: int) -> dict[str, dict[str, dict[int, str]]]:
    """For each named sheet that has any: header → {Excel row number: what the cell holds} for the
    cells below the header row holding an error value (its text, e.g. `#DIV/0!`) or a formula
    without a trustworthy value (`=` and the formula)."""
    out: dict[str, dict[str, dict[int, str]]] = {}
    with zipfile.ZipFile(path) as book:
        paths, full_calc = _sheet_paths(book)
        strings: list[str] | None = None
        for name in sheets:
            member = paths.get(name)
            if member is None or member not in book.namelist() or not _has_markers(book, member):
                continue
            headers: dict[int, ElementTree.Element] = {}
            found: dict[tuple[int, int], str] = {}
            with book.open(member) as fh:
                for _, el in ElementTree.iterparse(fh):
                    if el.tag != f"{_MAIN}c":
                        if el.tag == f"{_MAIN}row":
                            el.clear()
                        continue
                    ref = _CELL_REF.match(el.get("r", ""))
                    if not ref:
                        continue
                    row, col = int(ref.group(2)), _column_index(ref.group(1))
                    if row == header_row:
                        headers[col] = el  # kept until the shared strings are known
                        continue
                    if row > header_row:
                        formula = el.find(f"{_MAIN}f")
                        value = el.find(f"{_MAIN}v")
                        if el.get("t") == "e":
                            found[(row, col)] = value.text if value is not None and value.text else "#ERROR"
                        elif formula is not None and (full_calc or value is None or value.text is None):
                            found[(row, col)] = "=" + (formula.text or "(shared formula)")
            if not found:
                continue
            if strings is None:
                strings = _shared_strings(book)
            names = {col: _cell_text(cell, strings) for col, cell in headers.items()}
            per_header: dict[str, dict[int, str]] = {}
            for (row, col), what in found.items():
                header = names.get(col)
                if header:
                    per_header.setdefault(header, {})[row] = what
            if per_header:
                out[name] = per_header
    return out
