"""Runs from a planner's file stay apart on the dashboard: the Staffing and Spare parts pages show
the pipeline's latest run by default, even when a file run is newer, and a planner can pick the
file run, labelled with its source and cut-off (Streamlit's AppTest)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import i18n as T
from dashboard import runs
from forecasts import store
from tests.test_dashboard_fixtures import dash_db  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
SHA = "0123456789abcdef" * 4


def _values(uid: str, dates: list[dt.date], y: float) -> pl.DataFrame:
    return pl.DataFrame({"unique_id": uid, "ds": dates, "model": "snaive", "chosen": True, "yhat": y,
                         "yhat_lower_80": y - 1, "yhat_upper_80": y + 1, "yhat_lower_95": y - 2, "yhat_upper_95": y + 2})


def _series(uid: str) -> pl.DataFrame:
    return pl.DataFrame({"unique_id": [uid], "model": ["snaive"], "reason": ["best"], "score_metric": ["mase"],
                         "score": [0.9], "baseline_score": [1.0], "scores": ["{}"]})


@pytest.fixture(scope="module")
def file_runs_db(dash_db, tmp_path_factory) -> Path:  # noqa: F811
    """The dashboard sample plus two newer runs from files: weekly workload, monthly parts."""
    db = tmp_path_factory.mktemp("runs") / "runs.duckdb"
    shutil.copyfile(dash_db, db)
    sundays = [dt.date(2025, 1, 5) + dt.timedelta(weeks=k) for k in range(60)]
    history = pl.DataFrame({"unique_id": "calls", "ds": sundays, "y": [40.0 + k % 5 for k in range(60)]})
    future = [sundays[-1] + dt.timedelta(weeks=k) for k in range(1, 13)]
    store.save_run(db, store.Run(
        kind="workload", source="/planner/calls.csv", model="snaive", data_cutoff=sundays[-1],
        params={"forecast": {"freq": "W"}, "not_forecast": [{"unique_id": "tiny", "code": "too_short", "n": 3,
                                                              "reason": "too short"}]},
        n_series=1, workers=1, seconds=0.1, freq="W", source_sha256=SHA, run_id="workload-file",
        tables={"forecast_values": _values("calls", future, 42.0), "forecast_series": _series("calls"),
                "forecast_history": history}))
    month_ends = [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)]
    reorder = pl.DataFrame({"part_no": ["P1"], "part_name": [None], "series_class": ["lumpy"], "model": ["zero"],
                            "distribution": ["bootstrap"], "lead_time_days": [14], "lead_time_source": ["default"],
                            "mean_weekly_demand": [0.5], "reorder_point": [1], "order_up_to": [3]},
                           schema_overrides={"part_name": pl.String})
    store.save_run(db, store.Run(
        kind="parts", source="/planner/carparts.csv", model="zero", data_cutoff=month_ends[-1], params={},
        n_series=1, workers=1, seconds=0.1, freq="M", source_sha256=SHA, run_id="parts-file",
        tables={"forecast_values": _values("P1", [dt.date(2024, 4, 30)], 1.0), "forecast_series": _series("P1"),
                "parts_reorder": reorder,
                "forecast_history": pl.DataFrame({"unique_id": "P1", "ds": month_ends, "y": [0.0, 3.0, 0.0]})}))
    return db


def _app(db: Path, page: str, monkeypatch: pytest.MonkeyPatch, lang: str = "zh") -> AppTest:
    monkeypatch.setenv("AFTERSALES_DB", str(db))
    monkeypatch.delenv("AFTERSALES_CONFIG", raising=False)
    at = AppTest.from_file(APP, default_timeout=90)
    if lang == "en":
        at.query_params["lang"] = "English"
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _titles(at: AppTest) -> list[str]:
    return [(json.loads(el.proto.spec).get("layout", {}).get("title") or {}).get("text", "")
            for el in at.get("plotly_chart")]


def _actuals(at: AppTest, title: str) -> list[float]:
    """The y values of the "actual" trace of the chart whose title starts with ``title``."""
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        if ((spec.get("layout", {}).get("title") or {}).get("text", "")).startswith(title):
            return next((t["y"] for t in spec["data"] if t.get("name") in (T.t("actual", "zh"), T.t("actual", "en"))), [])
    raise AssertionError(f"no chart titled {title!r}")


def test_parts_mean_demand_header_follows_the_frequency():
    from dashboard.views import parts as parts_view

    weekly, monthly = T.column_label("mean_weekly_demand", "zh"), T.column_label("mean_weekly_demand", "en")
    assert parts_view.demand_header({"freq": "M"}, "zh") == {weekly: "月均需求"}
    assert parts_view.demand_header({"freq": "M"}, "en") == {monthly: "Mean monthly demand"}
    assert parts_view.demand_header({"freq": "W"}, "zh") == {weekly: "周均需求"}
    assert parts_view.demand_header({}, "zh") == {weekly: "周均需求"}  # a run stored before runs had a frequency


def test_a_zero_point_forecast_beside_a_reorder_point_is_explained():
    from dashboard.views import parts as parts_view

    row = {"model": "zero", "reorder_point": 2, "order_up_to": 5, "mean_weekly_demand": 0.25}
    note = parts_view.zero_note({"freq": "M"}, row, "zh")
    assert note.startswith("点预测为零") and "多数月" in note and "再订货点 2" in note and "月均需求 0.25" in note
    assert "week" in parts_view.zero_note({"freq": "W"}, row, "en")
    assert parts_view.zero_note({"freq": "W"}, {**row, "model": "tsb"}, "zh") is None
    assert parts_view.zero_note({"freq": "W"}, {**row, "reorder_point": 0, "order_up_to": 0}, "zh") is None


def test_labels_name_the_source_and_cut_off():
    row = {"source": "/planner/calls.csv", "freq": "W", "data_cutoff": dt.date(2026, 2, 22),
           "created_at": dt.datetime(2026, 3, 1, 9, 30), "source_sha256": SHA}
    assert runs.run_label(row, "zh") == "文件 calls.csv · 按周 · 数据截止 2026年2月22日 · 运行于 2026年3月1日 09:30 · SHA-256 01234567"
    assert runs.run_label({**row, "source": "database", "source_sha256": None, "freq": "D"}, "en").startswith(
        "Pipeline database · daily · data cut-off 22 Feb 2026")
    frame = pl.DataFrame({"source": ["/a.csv", "database", "database"]})
    assert runs.default_index(frame) == 1 and runs.default_index(frame.head(1)) == 0


def test_staffing_shows_the_pipelines_run_and_a_picked_file_run(file_runs_db, monkeypatch):
    at = _app(file_runs_db, "staffing", monkeypatch)
    picker = at.selectbox(key="run_workload")
    db_run = store.latest_run(file_runs_db, "workload")["run_id"]
    assert picker.value == db_run != "workload-file"  # the newer file run is not the default
    assert any(o.startswith("文件 calls.csv · 按周") for o in picker.options)
    assert at.dataframe and not at.info  # the staffing plan of the pipeline's run
    picker.set_value("workload-file").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(t.startswith(f"{T.t('workload_forecast', 'zh')} · calls") for t in _titles(at))
    # the file's own history (the last 52 weeks), not the database's tickets
    assert _actuals(at, f"{T.t('workload_forecast', 'zh')} · calls") == [40.0 + k % 5 for k in range(8, 60)]
    assert any(T.t("staffing_file_run", "zh") in i.value for i in at.info)
    assert any(e.label == T.t("not_forecast", "zh", n=1) for e in at.expander)
    skipped = at.expander[0].dataframe[0].value
    assert skipped.iloc[0].tolist() == ["tiny", T.t("nf_too_short", "zh", n=3)]


def test_parts_picks_a_monthly_file_run(file_runs_db, monkeypatch):
    at = _app(file_runs_db, "parts", monkeypatch, "en")
    picker = at.selectbox(key="run_parts")
    assert picker.value == store.latest_run(file_runs_db, "parts")["run_id"]
    assert "Mean weekly demand" in at.dataframe[0].value.columns  # the pipeline's run is weekly
    picker.set_value("parts-file").run()
    assert not at.exception, [e.value for e in at.exception]
    # the mean-demand header follows the run's frequency: this run's means are monthly
    headers = list(at.dataframe[0].value.columns)
    assert "Mean monthly demand" in headers and "Mean weekly demand" not in headers
    # P1's point forecast is zero beside a reorder point of 1: the page says why
    assert any(c.value.startswith("Point forecast zero") and "Mean monthly demand 0.50" in c.value for c in at.caption)
    assert _actuals(at, f"{T.t('part_forecast', 'en')} · P1") == [0.0, 3.0, 0.0]
    assert any("File carparts.csv · monthly" in c.value for c in at.caption)
