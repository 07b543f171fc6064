"""Chunked writers for the canonical tables: one Parquet row group or one CSV append per chunk,
so memory stays bounded however many tickets are generated."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from aftersales.model import TABLES

_ARROW = {"VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("us"), "TINYINT": pa.int8(), "SMALLINT": pa.int16(),
          "INTEGER": pa.int32(), "BIGINT": pa.int64(), "BOOLEAN": pa.bool_(), "DATE": pa.date32(),
          "DOUBLE": pa.float64()}


def arrow_type(duck_type: str) -> pa.DataType:
    return pa.float64() if duck_type.startswith("DECIMAL") else _ARROW[duck_type]


def arrow_schema(table: str) -> pa.Schema:
    """The Parquet schema of a canonical table (DECIMAL is written as float64)."""
    return pa.schema([pa.field(c.name, arrow_type(c.type)) for c in TABLES[table].columns])


class TableWriter:
    """Appends DataFrames with exactly the canonical columns to <table>.parquet and/or <table>.csv."""

    def __init__(self, out_dir: Path, table: str, fmt: str):
        if fmt not in ("parquet", "csv", "both"):
            raise ValueError(f"fmt must be 'parquet', 'csv' or 'both', not {fmt!r}")
        self.table, self.schema, self.rows = table, arrow_schema(table), 0
        self.columns = TABLES[table].column_names
        self.paths: list[Path] = []
        self._pq = self._csv = None
        if fmt in ("parquet", "both"):
            path = out_dir / f"{table}.parquet"
            self._pq = pq.ParquetWriter(path, self.schema, compression="zstd")
            self.paths.append(path)
        if fmt in ("csv", "both"):
            path = out_dir / f"{table}.csv"
            self._csv = open(path, "wb")  # noqa: SIM115 - closed in close()
            self._csv.write((",".join(self.columns) + "\n").encode())
            self.paths.append(path)

    def write(self, df: pl.DataFrame) -> None:
        # Model columns the generator does not simulate (a source's own counts and verdicts,
        # such as reopen_count) are written empty.
        unsimulated = [c for c in self.columns if c not in df.columns]
        if unsimulated and [c for c in self.columns if c in df.columns] == df.columns:
            df = df.with_columns(*(pl.lit(None).alias(c) for c in unsimulated)).select(self.columns)
        if df.columns != self.columns:
            raise ValueError(f"{self.table}: columns {df.columns} differ from the model's {self.columns}")
        if not len(df):
            return
        self.rows += len(df)
        if self._pq is not None:
            self._pq.write_table(df.to_arrow().cast(self.schema))
        if self._csv is not None:
            df.write_csv(self._csv, include_header=False, datetime_format="%Y-%m-%d %H:%M:%S",
                         date_format="%Y-%m-%d", float_precision=2)

    def close(self) -> list[Path]:
        if self._pq is not None:
            self._pq.close()
        if self._csv is not None:
            self._csv.close()
        return self.paths


class TopicWriter:
    """``truth/complaint_topics.parquet``: per complaint text, the reason and topic the generator
    wrote it about (and a second topic mentioned in passing). A subdirectory, so loading the
    sample's directory never takes it for a table."""

    SCHEMA = pa.schema([("ticket_id", pa.string()), ("complaint_reason", pa.string()), ("topic", pa.string()),
                        ("aside", pa.string())])

    def __init__(self, out_dir: Path):
        (out_dir / "truth").mkdir(exist_ok=True)
        self.path = out_dir / "truth" / "complaint_topics.parquet"
        self._pq = pq.ParquetWriter(self.path, self.SCHEMA, compression="zstd")

    def write(self, df: pl.DataFrame) -> None:
        if len(df):
            self._pq.write_table(df.to_arrow().cast(self.SCHEMA))

    def close(self) -> Path:
        self._pq.close()
        return self.path
