"""Reading one export file into a frame of raw values, each row numbered as a person would find it."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import polars as pl

from aftersales.errors import UserError, clip
from pipelines import encoding as encoding_
from pipelines import excel_cells
from pipelines.clean import register_functions
from pipelines.excel_cells import CELL_PREFIX
from pipelines.mapping import Mapping, normalise_header

ROW = "_row"
SHEET = "_sheet"
STREAM_CSV_BYTES = 64 * 1024 * 1024  # larger UTF-8 CSVs stream through a temporary Parquet file
DIRECT_CSV = True  # UTF-8 CSVs are scanned by DuckDB itself (see RawFile.csv_path)
# DuckDB's CSV read buffer (None: its default, 32 MB). A file spanning several buffers is scanned
# in parallel; tests set a small one to check rows keep their file order when it is.
CSV_BUFFER_BYTES: int | None = None


class ReadAnotherWay(Exception):
    """DuckDB's CSV scan cannot number or parse this file exactly as Polars does (ragged rows, blank
    lines, bytes that are not UTF-8 after a UTF-8 head): load it again through Polars."""


@dataclass
class RawFile:
    """A file's raw rows: a Polars frame (CSV, Excel), or for Parquet a path DuckDB scans itself,
    so a 10M-row file streams instead of being held in memory twice."""

    frame: pl.DataFrame | None  # source headers (stripped) + ROW (+ SHEET for Excel)
    format: str
    encoding: str | None = None
    parquet_path: Path | None = None
    parquet_columns: list[str] | None = None
    temporary: bool = False  # parquet_path is our own conversion of a CSV: numbered, deleted after
    # A UTF-8 CSV DuckDB scans itself, in parallel, straight into the staging query (see
    # `positional`). Polars' rules are kept: every cell text, quoted "" is an empty string, a
    # short row is an error here (Polars pads it) and a blank line is skipped here (Polars counts
    # it as a row): load_file checks for both and then reads the file through Polars instead.
    csv_path: Path | None = None
    csv_columns: list[str] | None = None
    csv_options: dict | None = None

    @staticmethod
    def _header(name: str) -> str:
        return normalise_header(name)

    @property
    def columns(self) -> list[str]:
        if self.frame is not None:
            return [c for c in self.frame.columns if c not in (ROW, SHEET) and not c.startswith(CELL_PREFIX)]
        return [self._header(c) for c in self.parquet_columns or self.csv_columns or []]

    @property
    def direct_csv(self) -> bool:
        return self.csv_path is not None

    @property
    def positional(self) -> tuple[str, list[str]] | None:
        """For a CSV DuckDB scans: view `raw_rows` (the source columns, no row number) and its
        columns. Scanned on every core into a table, with insertion order preserved (DuckDB's
        default, which the loader never changes), its rows keep their file order, so a row's
        place in the result is its place in the file: the staging query reads this, and numbers
        its rows by position. View `raw` numbers them with a streaming row_number(), which holds a
        query to one thread: only for the rare reads the staging query cannot answer."""
        return ("raw_rows", self.columns) if self.csv_path is not None else None

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Make the rows available as view `raw` (_rid, _row, _sheet, source columns)."""
        register_functions(con)
        if self.frame is not None:
            frame = self.frame
            if SHEET not in frame.columns:
                frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(SHEET))
            frame = frame.with_row_index("_rid").with_columns(pl.col("_rid").cast(pl.Int64))
            con.register("raw", frame)
            return
        if self.csv_path is not None:
            options = dict(self.csv_options or {})
            if CSV_BUFFER_BYTES:
                options.update(buffer_size=CSV_BUFFER_BYTES, max_line_size=CSV_BUFFER_BYTES // 2)
            con.read_csv(str(self.csv_path), **options).create_view("raw_file")
            names = self.csv_columns or []
            trimmed = ", ".join(f"{_q(c)} AS {_q(self._header(c))}" for c in names)
            con.execute(f"CREATE OR REPLACE TEMP VIEW raw_rows AS SELECT {trimmed} FROM raw_file")
            numbered = "SELECT row_number() OVER () - 1 AS _rid, * FROM raw_file"
            row = f"_rid + 1 AS {ROW}"
        else:
            con.read_parquet(str(self.parquet_path), file_row_number=True).create_view("raw_file")
            numbered = "SELECT file_row_number AS _rid, * EXCLUDE (file_row_number) FROM raw_file"
            row = ROW if self.temporary else f"_rid + 1 AS {ROW}"
            names = self.parquet_columns or []
        # Headers are renamed to their trimmed form; both names come from the file itself.
        renames = ", ".join(f"{_q(c)} AS {_q(self._header(c))}" for c in names)
        con.execute(f"CREATE OR REPLACE TEMP VIEW raw AS SELECT _rid, {row}, "
                    f"CAST(NULL AS VARCHAR) AS {SHEET}, {renames} FROM ({numbered})")

    def unregister(self, con: duckdb.DuckDBPyConnection) -> None:
        if self.frame is not None:
            con.unregister("raw")
        else:
            for view in ("raw", "raw_rows", "raw_file"):
                con.execute(f"DROP VIEW IF EXISTS {view}")

    def cleanup(self) -> None:
        if self.temporary and self.parquet_path:
            self.parquet_path.unlink(missing_ok=True)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def file_format(path: Path, mapping: Mapping) -> str:
    if mapping.format != "auto":
        return mapping.format
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise UserError(f"{path}: cannot tell the format from the extension {suffix!r}; "
                    "use .csv, .xlsx or .parquet, or set `format:` in the mapping")


def _header_cells(text: str, mapping: Mapping) -> list[str]:
    """The header row's cells as the file writes them (parsed by the csv module, so a quoted
    header with a delimiter, a quote or a line break in it counts as one cell)."""
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter)
    for _ in range(mapping.header_row - 1):
        next(rows, None)
    # An empty header cell (a trailing delimiter) names no column a mapping can use; each gets a
    # name of its own so the columns stay distinct.
    return [cell if normalise_header(cell) else f"_empty_{i + 1}" for i, cell in enumerate(next(rows, []))]


def check_header(path: Path, names: list[str]) -> list[str]:
    """Normalised header names; a header repeated in one file is a file error (which of two
    columns named 金额 holds the amount cannot be guessed)."""
    clean = [normalise_header(n) for n in names]
    seen: dict[str, int] = {}
    for i, name in enumerate(clean):
        if name and name in seen:
            raise UserError(f"{path}: the header {clip(name, 60)!r} appears twice (columns {seen[name] + 1} and {i + 1}); "
                            "rename or remove one of them and export again")
        seen[name] = i
    return clean


def _read_csv(path: Path, mapping: Mapping, direct: bool) -> RawFile:
    if path.stat().st_size == 0:
        raise UserError(f"{path}: the file is empty (0 bytes); export it again")
    sample = encoding_.head(path)
    scan = direct and DIRECT_CSV
    if mapping.encoding != "auto":
        encoding = mapping.encoding
        # DuckDB's scan refuses invalid UTF-8 itself: only its head is checked here.
        if encoding not in ("utf-8", "utf-8-sig") or not scan or not encoding_.sample_is_utf8(sample):
            encoding_.check_named(path, encoding)
    else:
        encoding = encoding_.detect(path, whole=not scan)
    if b"\x00" in sample and "16" not in encoding and "32" not in encoding:
        raise UserError(f"{path}: holds NUL bytes, so it is not a text (CSV) export; check the file "
                        "(a binary file named .csv?) and export it again as CSV")
    line_ends = sample.count(b"\n")
    if not line_ends and not sample.count(b"\r") and len(sample) == encoding_.SAMPLE_BYTES:
        raise UserError(f"{path}: no line end in the first {encoding_.SAMPLE_BYTES // 1024} KB, so it is not a "
                        "CSV export (or its header row is that long); check the file and export it again")
    cr_only = not line_ends and b"\r" in sample  # classic Mac line ends
    if encoding in ("utf-8", "utf-8-sig") and not cr_only:
        text_head = sample.decode("utf-8", "ignore")
        # Header names as the csv module parses them: Polars keeps a quoted header's doubled
        # quotes ("a""b" stays a""b), and the mapping names the header as a person reads it.
        header = _header_cells(text_head.lstrip("\ufeff"), mapping)
        check_header(path, header)
        try:
            if scan:
                return _scan_csv(path, mapping, encoding, header)
            if path.stat().st_size > STREAM_CSV_BYTES:
                return _stream_csv(path, mapping, encoding, header)
            frame = pl.read_csv(path, infer_schema=False, separator=mapping.delimiter, encoding="utf8",
                                skip_rows=mapping.header_row - 1, new_columns=header or None)
        except (pl.exceptions.ComputeError, UnicodeDecodeError) as exc:
            if mapping.encoding != "auto" and ("utf" in str(exc).lower() or isinstance(exc, UnicodeDecodeError)):
                raise UserError(f"{path}: cannot decode as {encoding} ({clip(exc, 200)}); set `encoding:` in the "
                                "mapping (utf-8, gbk, gb18030) or re-export the file as UTF-8") from exc
            raise _malformed(path, mapping, exc) from exc
        return RawFile(_number(frame, mapping.header_row), "csv", encoding)
    # Any other encoding (or CR-only line ends): the whole text, strictly decoded, read as UTF-8.
    text = encoding_.decode_whole(path, encoding).lstrip("\ufeff")
    if cr_only:
        text = text.replace("\r", "\n")
    header = _header_cells(text, mapping)
    check_header(path, header)
    try:
        frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False, separator=mapping.delimiter,
                            skip_rows=mapping.header_row - 1, new_columns=header or None)
    except pl.exceptions.ComputeError as exc:
        raise _malformed(path, mapping, exc) from exc
    return RawFile(_number(frame, mapping.header_row), "csv", encoding)


def _malformed(path: Path, mapping: Mapping, exc: Exception) -> UserError:
    return UserError(f"{path}: not a well-formed CSV ({clip(str(exc).splitlines()[0] if str(exc) else exc, 200)}); "
                     f"check the delimiter ({mapping.delimiter!r}) and quoting, or re-export the file")


def _scan_csv(path: Path, mapping: Mapping, encoding: str, header: list[str]) -> RawFile:
    """DuckDB scans the file where it lies, with the header the caller read (the names the
    Polars path gives too)."""
    options = {
        "header": True, "sep": mapping.delimiter, "quotechar": '"', "escapechar": '"',
        "skiprows": mapping.header_row - 1, "auto_detect": False, "columns": {c: "VARCHAR" for c in header},
        "allow_quoted_nulls": False, "strict_mode": True, "null_padding": False, "encoding": "utf-8",
    }
    return RawFile(None, "csv", encoding, csv_path=path, csv_columns=header, csv_options=options)


def _stream_csv(path: Path, mapping: Mapping, encoding: str, header: list[str]) -> RawFile:
    """A large UTF-8 CSV is converted, streaming and numbered, to a temporary Parquet file of
    text columns that DuckDB then scans: memory stays bounded whatever the file's size."""
    tmp = Path(tempfile.mkstemp(prefix="aftersales_csv_", suffix=".parquet")[1])
    try:
        (pl.scan_csv(path, infer_schema=False, separator=mapping.delimiter, skip_rows=mapping.header_row - 1,
                     new_columns=header or None)
         .with_row_index(ROW, offset=1)
         .sink_parquet(tmp, compression="lz4"))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    columns = [c for c in pl.read_parquet_schema(tmp) if c != ROW]
    return RawFile(None, "csv", encoding, parquet_path=tmp, parquet_columns=columns, temporary=True)


def _number(frame: pl.DataFrame, header_row: int, offset: int = 1) -> pl.DataFrame:
    frame = frame.rename({c: normalise_header(c) for c in frame.columns})
    return frame.with_row_index(ROW, offset=offset).with_columns(pl.col(ROW).cast(pl.Int64))


def _read_xlsx(path: Path, mapping: Mapping) -> RawFile:
    try:
        import fastexcel

        reader = fastexcel.read_excel(path)
        names = reader.sheet_names
    except Exception as exc:  # fastexcel raises its own error types for non-workbooks
        raise UserError(f"{path}: not a readable Excel workbook ({clip(str(exc).splitlines()[0], 160)}); "
                        "open it in Excel and save as .xlsx, or export CSV") from exc
    if mapping.sheet != "all":
        if mapping.sheet not in names:
            raise UserError(f"{path}: no sheet named {clip(mapping.sheet, 60)!r}; sheets: {clip(names, 200)}; "
                            "fix `sheet:` in the mapping")
        names = [mapping.sheet]
    frames, read_names, hidden = [], [], []
    for name in names:
        sheet = reader.load_sheet(name, header_row=mapping.header_row - 1, dtypes="string", skip_rows=None)
        # A hidden sheet is a workbook's own workings (lookups, old data), not the export: read
        # only when the mapping names it.
        if str(sheet.visible) != "visible" and mapping.sheet != name:
            hidden.append(name)
            continue
        frame = pl.from_arrow(sheet.to_arrow())
        if frame.height == 0 and not frame.columns:
            continue
        raw_header = reader.load_sheet(name, header_row=None, n_rows=mapping.header_row, dtypes="string")
        cells = pl.from_arrow(raw_header.to_arrow())
        if cells.height:
            check_header(Path(f"{path} (sheet {name})"), [v or "" for v in cells.row(cells.height - 1)])
        # Sheet row numbers as Excel shows them: the header is row `header_row`.
        frame = _number(frame, mapping.header_row, offset=mapping.header_row + 1)
        frames.append(frame.with_columns(pl.lit(name).alias(SHEET)))
        read_names.append(name)
    if not frames:
        note = f" (hidden sheets skipped: {clip(hidden, 120)}; name one with `sheet:` to read it)" if hidden else ""
        raise UserError(f"{path}: the workbook has no data in sheets {clip(names, 200)}{note}")
    try:
        problems = excel_cells.problem_cells(path, read_names, mapping.header_row)
    except (KeyError, ValueError, ElementTree.ParseError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: the workbook's sheets cannot be checked for error cells "
                        f"({clip(exc, 120)}); open it in Excel and save it again") from exc
    frames = [_mark_cells(f, problems.get(n, {})) for f, n in zip(frames, read_names, strict=True)]
    return RawFile(pl.concat(frames, how="diagonal_relaxed"), "xlsx")


def _mark_cells(frame: pl.DataFrame, problems: dict[str, dict[int, str]]) -> pl.DataFrame:
    """Error and uncalculated formula cells: the cell's value becomes what it holds (`#DIV/0!`,
    `=A2/B2`), and column CELL_PREFIX + header says so, for the staging query's `type` rule."""
    for header, rows in problems.items():
        name = normalise_header(header)
        if name not in frame.columns:
            continue  # a column the mapping may not even read
        flag = CELL_PREFIX + name
        marks = pl.col(ROW).replace_strict(rows, default=None, return_dtype=pl.String)
        frame = frame.with_columns(marks.alias(flag)).with_columns(
            pl.coalesce(pl.col(flag), pl.col(name)).alias(name))
    return frame


def _read_parquet(path: Path) -> RawFile:
    try:
        columns = pl.read_parquet_schema(path)
    except Exception as exc:
        raise UserError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0][:160]})") from exc
    return RawFile(None, "parquet", parquet_path=path, parquet_columns=list(columns))


def read_file(path: Path, mapping: Mapping, direct_csv: bool = True) -> RawFile:
    """Read `path` as the mapping says; any problem with the file as a whole is a UserError.
    `direct_csv=False` reads a UTF-8 CSV through Polars (after ReadAnotherWay)."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    fmt = file_format(path, mapping)
    try:
        if fmt == "csv":
            return _read_csv(path, mapping, direct_csv)
        if fmt == "xlsx":
            return _read_xlsx(path, mapping)
        return _read_parquet(path)
    except OSError as exc:  # deleted, moved or unreadable while being read
        raise UserError(f"{path}: could not be read ({clip(exc, 160)}); check that the file is there and "
                        "readable, then load it again") from exc
