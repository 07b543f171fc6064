"""Scheduled KPI report exports: ``aftersales report --period ... --format html,xlsx,pdf,csv``.

    period.parse()   --period text → a Period (month, ISO week, or a date range)
    content.build()  every number, from metrics/ and forecasts/, into one plain Report
    html / xlsx / pdf / csvout .render(report) → bytes; writer.write() names and writes them atomically

Nothing here imports streamlit or the dashboard; every number comes through ``metrics``.
"""
