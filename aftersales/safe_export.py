"""Formula-safe cells for every CSV and XLSX the product writes.

A text cell that begins with ``= + - @``, a tab or a carriage return is read by Excel, WPS and
LibreOffice as a formula: ``=HYPERLINK("http://x","y")`` in a customer's complaint text opens
as a live link, ``@SUM(A1)`` runs. OWASP's advice (CSV Injection) is to prefix such a cell with a
single quote, which shows the text as it was. Only text is touched: a number (a negative change,
a count) stays a number, so a numeric column still sums.

Every writer goes through ``neutralise`` (one value) or ``neutralise_frame`` (the text columns of
a frame): the dashboard's downloads, the report's CSV and XLSX, ``aftersales rejects``/``loads``
``--format csv`` and ``aftersales kpi``/``metrics --format csv``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

# The first characters that make a spreadsheet read a cell as a formula (OWASP, CSV Injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"


def neutralise(value: Any) -> Any:
    """``value`` with a single quote in front when it is text a spreadsheet would run as a
    formula; anything else (numbers, dates, None, safe text) unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return PREFIX + value
    return value


def neutralise_frame(df: pl.DataFrame) -> pl.DataFrame:
    """The frame with every text cell neutralised; columns of other types (numbers, dates,
    booleans) unchanged. Lists and categoricals are written as text, so they become text first."""
    texty = [c for c, t in df.schema.items() if t in (pl.String, pl.Categorical) or isinstance(t, (pl.Enum, pl.List))]
    if not texty:
        return df
    out = []
    for c in texty:
        col = pl.col(c)
        if isinstance(df.schema[c], pl.List):
            col = col.cast(pl.List(pl.String)).list.join(", ")  # how a list reads in a cell
        else:
            col = col.cast(pl.String)
        starts = pl.any_horizontal([col.str.starts_with(s) for s in FORMULA_STARTS])
        out.append(pl.when(starts).then(pl.lit(PREFIX) + col).otherwise(col).alias(c))
    return df.with_columns(out)
