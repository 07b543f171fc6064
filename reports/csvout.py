"""The KPI table as CSV: one row per KPI, raw values at full precision (what metrics.query
returned), UTF-8 with a BOM so Excel opens the Chinese labels correctly; text cells formula-safe."""

from __future__ import annotations

import csv
import io

from aftersales.safe_export import neutralise
from metrics import registry as R
from reports.content import Report
from reports.table import exact_text

COLUMNS = ["kpi", "label", "unit", "period_start", "period_end", "value", "numerator", "denominator", "n_records",
           "ci_low", "ci_high", "prev_value", "prev_change", "prev_change_pct", "yoy_value", "yoy_change",
           "yoy_change_pct", "target", "status", "final_on", "small_sample", "completeness", "n_excluded", "excluded_reason"]


def render(report: Report) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutralise(h) for h in COLUMNS + [f"filter_{d}" for d in report.where]])
    filters = [neutralise("|".join(v)) for v in report.where.values()]
    for rec in report.kpis.iter_rows(named=True):
        row = {**rec, "label": R.KPIS[rec["kpi"]].label(report.lang)}
        # text is made formula-safe before it is written; numbers stay numbers (a negative change)
        w.writerow([exact_text(neutralise(row.get(c))) for c in COLUMNS] + filters)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
