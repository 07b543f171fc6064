"""The metrics layer: KPI definitions and the one way to compute them.

    import metrics
    from aftersales.principal import DataScope
    everyone = DataScope()                         # the whole company; DataScope(regions=("east",)) ...
    metrics.KPIS["repair_success_rate"]            # the definition (labels, unit, target, ...)
    metrics.query(db, metrics=["csat"], by=["region"], grain="month", start=..., end=..., scope=everyone)
    metrics.rank(db, "repair_success_rate", level="outlet", scope=everyone)
    metrics.records(db, "complaint_rate", period_start=date(2024, 6, 1), grain="month",
                    where={"outlet": "O0001"}, only="numerator", scope=everyone)
    metrics.distribution(db, "mttr_hours", grain="month", scope=everyone)
    metrics.dimension_values(db, "region", scope=everyone)
    metrics.breaching(db, where={"region": "east"}, scope=everyone)  # open tickets past an SLA limit now

Every read takes the reader's data scope (``scope``, required: no default), ANDed with ``where``
(``metrics.scope``): a signed-in user's from the dashboard, ``DataScope()`` from callers that are
no user.

Every number the dashboard and the report exports show comes through these functions; nothing
here imports streamlit. The result columns are listed in the README ("KPIs", "Asking for numbers").
"""

from metrics.breach import breaching
from metrics.compute import RESULT_COLUMNS, dimension_values, query, sql_for
from metrics.drill import DISTRIBUTIONS, distribution, mask_name, mask_phone, records
from metrics.rank import rank
from metrics.registry import DIMENSIONS, GRAINS, KPIS, Dimension, KpiDef

__all__ = [
    "DIMENSIONS", "DISTRIBUTIONS", "GRAINS", "KPIS", "RESULT_COLUMNS", "Dimension", "KpiDef", "breaching",
    "dimension_values",
    "distribution", "mask_name", "mask_phone", "query", "rank", "records", "sql_for",
]
