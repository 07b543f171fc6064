"""Real public exports (tests/data/real/*/SOURCE.md) loaded with their shipped mappings, and their
KPIs checked against an independent pandas computation over the raw file: exact wherever the
model holds the data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

import metrics
from aftersales import model
from aftersales.principal import DataScope
from pipelines.load import load_paths
from tests.conftest import table_rows

REAL = Path(__file__).with_name("data") / "real"
HELPDESK = REAL / "helpdesk-italy" / "helpdesk_log.csv"
BPIC = REAL / "bpic2014-incidents" / "incident_activity.csv"
REVIEWS = REAL / "clothing-reviews" / "clothing_reviews.csv"
WIDE = {"start": dt.date(2000, 1, 1), "end": dt.date(2030, 12, 31), "grain": None}  # every date of the data

# The mappings' code lists, written again here: the test's own reading of the files.
HELPDESK_STATUS = {"Insert ticket": "open", "Assign seriousness": "open", "Take in charge ticket": "in_progress",
                   "Wait": "in_progress", "Require upgrade": "in_progress", "Create SW anomaly": "in_progress",
                   "Resolve SW anomaly": "in_progress", "Schedule intervention": "dispatched",
                   "Resolve ticket": "resolved", "RESOLVED": "resolved", "VERIFIED": "resolved", "Closed": "closed",
                   "INVALID": "cancelled", "DUPLICATE": "cancelled"}
BPIC_STATUS_ROWS = {"Open": "open", "Assignment": "dispatched", "Reassignment": "dispatched",
                    "Status Change": "in_progress", "Closed": "closed"}
BPIC_TIE = {"open": 1, "dispatched": 2, "in_progress": 3, "closed": 4}


def _load(db: Path, *files: Path) -> list:
    return load_paths(db, list(files), show_progress=False)


def _hours(delta: pd.Series) -> pd.Series:
    return delta.dt.total_seconds() / 3600


def _kpis(db: Path, names: list[str], by: list[str] | None = None) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return metrics.query(con, metrics=names, by=by, compare=False, **WIDE, scope=DataScope()).to_pandas()


def _helpdesk_truth() -> pd.DataFrame:
    raw = pd.read_csv(HELPDESK, dtype=str)
    raw["t"] = pd.to_datetime(raw["Complete Timestamp"], format="%Y-%m-%d %H:%M:%S")
    raw["status"] = raw["Activity"].map(HELPDESK_STATUS)
    done = raw[raw["status"].isin(["resolved", "closed"])]
    g = raw.groupby("Case ID")
    out = pd.DataFrame({"created": g["t"].min(), "n": g.size(),
                        "product": g["product"].agg(lambda s: s.dropna().iloc[-1] if s.notna().any() else None)})
    out["resolved"] = done.groupby("Case ID")["t"].min()
    out["closed"] = raw[raw["status"] == "closed"].groupby("Case ID")["t"].max()
    return out


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory) -> tuple[Path, list]:
    db = tmp_path_factory.mktemp("helpdesk") / "a.duckdb"
    return db, _load(db, HELPDESK)


def test_helpdesk_log_ticket_counts(helpdesk):
    db, results = helpdesk
    truth = _helpdesk_truth()
    (r,) = results
    assert r.source == "helpdesk-italy-events-csv"
    assert r.rows_read == 20_937 == r.inserted + r.updated + r.unchanged + r.quarantined
    assert r.quarantined == 0 and r.inserted == len(truth) == 4_479
    got = dict(table_rows(db, "SELECT 'n', count(*) FROM tickets UNION ALL "
                              "SELECT 'resolved', count(resolved_at) FROM tickets UNION ALL "
                              "SELECT 'closed', count(closed_at) FROM tickets UNION ALL "
                              "SELECT 'open', count(*) FILTER (WHERE resolved_at IS NULL) FROM tickets"))
    assert got == {"n": len(truth), "resolved": truth["resolved"].notna().sum(),
                   "closed": truth["closed"].notna().sum(), "open": truth["resolved"].isna().sum()}
    # The created dates span the log's years, not the last event of each ticket.
    lo, hi = table_rows(db, "SELECT min(created_at), max(created_at) FROM tickets")[0]
    assert (lo, hi) == (truth["created"].min().to_pydatetime(), truth["created"].max().to_pydatetime())


def test_helpdesk_log_mttr_and_volume_by_product(helpdesk):
    db, _ = helpdesk
    truth = _helpdesk_truth()
    resolved = truth[truth["resolved"].notna()]
    hours = _hours(resolved["resolved"] - resolved["created"])
    got = _kpis(db, ["mttr", "mttr_median", "ticket_volume"]).set_index("kpi")
    assert got.loc["ticket_volume", "value"] == len(truth)
    assert got.loc["mttr", "value"] == pytest.approx(hours.mean(), rel=1e-9)
    assert got.loc["mttr", "denominator"] == len(resolved)
    assert got.loc["mttr_median", "value"] == pytest.approx(hours.median(), rel=1e-9)
    by = _kpis(db, ["mttr"], by=["product_model"]).set_index("product_model")
    want = hours.groupby(resolved["product"]).mean()
    assert set(by.index) == set(want.index)
    for product, value in want.items():
        assert by.loc[product, "value"] == pytest.approx(value, rel=1e-9), product


def test_helpdesk_log_split_in_two_loaded_backwards_equals_whole(helpdesk, tmp_path):
    """Half the file, cut mid-ticket, loaded after the other half: the same tickets, field for field."""
    db, _ = helpdesk
    lines = HELPDESK.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = len(lines) // 2  # Case 5xxx's rows sit on both sides of this line
    assert lines[cut - 1].split(",")[0] == lines[cut].split(",")[0]
    first = tmp_path / "helpdesk_log_part1.csv"
    second = tmp_path / "helpdesk_log_part2.csv"
    first.write_text("".join(lines[:cut]), encoding="utf-8")
    second.write_text(lines[0] + "".join(lines[cut:]), encoding="utf-8")
    split_db = tmp_path / "split.duckdb"
    _load(split_db, second)
    _load(split_db, first)
    cols = "ticket_id, status, created_at, resolved_at, closed_at, updated_at, product_model, customer_id"
    whole = table_rows(db, f"SELECT {cols} FROM tickets ORDER BY ticket_id")
    assert table_rows(split_db, f"SELECT {cols} FROM tickets ORDER BY ticket_id") == whole


def _bpic_truth() -> pd.DataFrame:
    raw = pd.read_csv(BPIC, sep=";", dtype=str)
    raw["t"] = pd.to_datetime(raw["DateStamp"], format="%Y-%m-%dT%H:%M:%S%z")
    g = raw.groupby("Incident ID")
    out = pd.DataFrame({"created": g["t"].min()})
    out["resolved"] = raw[raw["IncidentActivity_Type"] == "Closed"].groupby("Incident ID")["t"].min()
    rows = raw[raw["IncidentActivity_Type"].isin(BPIC_STATUS_ROWS)].copy()
    rows["status"] = rows["IncidentActivity_Type"].map(BPIC_STATUS_ROWS)
    rows["rank"] = rows["status"].map(BPIC_TIE)
    out["status"] = rows.sort_values(["t", "rank"], kind="stable").groupby("Incident ID")["status"].last()
    return out


@pytest.fixture(scope="module")
def bpic(tmp_path_factory) -> tuple[Path, list]:
    db = tmp_path_factory.mktemp("bpic") / "b.duckdb"
    return db, _load(db, BPIC)


def test_bpic2014_status_log_counts(bpic):
    db, (r,) = bpic
    truth = _bpic_truth()
    assert r.rows_read == 46_261 == r.inserted + r.updated + r.unchanged + r.quarantined
    assert r.quarantined == 0 and r.inserted == len(truth) == 5_182
    got = dict(table_rows(db, "SELECT status, count(*) FROM tickets GROUP BY status"))
    assert got == truth["status"].value_counts().to_dict()
    assert table_rows(db, "SELECT count(resolved_at) FROM tickets")[0][0] == truth["resolved"].notna().sum()


def test_bpic2014_mttr_against_pandas(bpic):
    db, _ = bpic
    truth = _bpic_truth()
    resolved = truth[truth["resolved"].notna()]
    hours = _hours(resolved["resolved"] - resolved["created"])
    got = _kpis(db, ["mttr", "mttr_median"]).set_index("kpi")
    assert got.loc["mttr", "denominator"] == len(resolved)
    assert got.loc["mttr", "value"] == pytest.approx(hours.mean(), rel=1e-9)
    assert got.loc["mttr_median", "value"] == pytest.approx(hours.median(), rel=1e-9)


def test_bpic2014_same_result_whatever_the_split_and_order(bpic, tmp_path):
    """Three pieces cut at arbitrary rows (incidents spread over two files), loaded in reverse."""
    db, _ = bpic
    lines = BPIC.read_text(encoding="utf-8").splitlines(keepends=True)
    head, body = lines[0], lines[1:]
    cuts = [0, 10_001, 29_999, len(body)]
    parts = []
    for i in range(3):
        part = tmp_path / f"incident_activity_{i}.csv"
        part.write_text(head + "".join(body[cuts[i]:cuts[i + 1]]), encoding="utf-8")
        parts.append(part)
    split_db = tmp_path / "split.duckdb"
    for part in reversed(parts):
        _load(split_db, part)
    cols = "ticket_id, status, created_at, resolved_at, closed_at, updated_at"
    assert (table_rows(split_db, f"SELECT {cols} FROM tickets ORDER BY ticket_id")
            == table_rows(db, f"SELECT {cols} FROM tickets ORDER BY ticket_id"))


MAPPINGS = Path(__file__).parents[1] / "pipelines" / "mappings"
HAS_COUNTS = {"reopen_count", "reassign_count"} <= set(model.TABLES["tickets"].column_names)


def _transitions(statuses: pd.Series, done: set[str]) -> int:
    s = list(statuses)
    return sum(1 for a, b in zip(s, s[1:], strict=False) if a in done and b not in done)


@pytest.mark.skipif(not HAS_COUNTS, reason="the model has no reopen_count / reassign_count columns yet (issue 13)")
def test_reopen_and_reassignment_counts_of_the_logs_against_pandas(tmp_path):
    """The shipped mappings with their count columns switched on (commented in the YAML until the
    model has them): reopenings = resolved/closed followed by another status, reassignments =
    Reassignment rows."""
    maps = tmp_path / "maps"
    maps.mkdir()
    extra = {
        "helpdesk-italy-events-csv": {"reopen_count": {"take": "transitions", "of": "status",
                                                       "from": ["resolved", "closed"]}},
        "bpic2014-incident-activity-csv": {"reassign_count": {"take": "count", "where": {
            "column": "IncidentActivity_Type", "in": ["Reassignment"]}}},
    }
    for source, columns in extra.items():
        doc = yaml.safe_load((MAPPINGS / f"{source}.yaml").read_text(encoding="utf-8"))
        doc["source"] = source + "-counts"
        doc["columns"].update(columns)
        (maps / f"{source}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    db = tmp_path / "c.duckdb"
    load_paths(db, [HELPDESK], source="helpdesk-italy-events-csv-counts", mapping_dirs=[maps], show_progress=False)
    load_paths(db, [BPIC], source="bpic2014-incident-activity-csv-counts", mapping_dirs=[maps], show_progress=False)

    raw = pd.read_csv(HELPDESK, dtype=str)
    raw["t"] = pd.to_datetime(raw["Complete Timestamp"], format="%Y-%m-%d %H:%M:%S")
    raw["status"] = raw["Activity"].map(HELPDESK_STATUS)
    # Rows of one ticket at the same second are ordered by their values (status first differs).
    reopens = (raw.sort_values(["Case ID", "t", "status"], kind="stable").groupby("Case ID")["status"]
               .agg(_transitions, done={"resolved", "closed"}))
    got = table_rows(db, "SELECT sum(reopen_count), count(*) FILTER (WHERE reopen_count > 0) FROM tickets "
                         "WHERE ticket_id LIKE 'Case %'")[0]
    assert got == (reopens.sum(), (reopens > 0).sum())  # 157 reopenings of 148 tickets
    bpic = pd.read_csv(BPIC, sep=";", dtype=str)
    per = bpic[bpic["IncidentActivity_Type"] == "Reassignment"].groupby("Incident ID").size()
    assert table_rows(db, "SELECT sum(reassign_count), count(*) FILTER (WHERE reassign_count > 0) FROM tickets "
                          "WHERE ticket_id LIKE 'IM%'")[0] == (per.sum(), len(per))
    rate = _kpis(db, ["reopen_rate"]).set_index("kpi").loc["reopen_rate"]
    resolved = table_rows(db, "SELECT count(*) FROM tickets WHERE resolved_at IS NOT NULL")[0][0]
    assert (rate["numerator"], rate["denominator"]) == ((reopens > 0).sum(), resolved)


def test_review_export_csat_against_pandas(tmp_path):
    db = tmp_path / "r.duckdb"
    (r,) = _load(db, REVIEWS)
    raw = pd.read_csv(REVIEWS)
    assert r.rows_read == len(raw) == r.inserted == 1_000
    got = _kpis(db, ["csat", "csat_mean", "nps"]).set_index("kpi")
    top2 = (raw["Rating"] >= 4).sum()  # 228 fours + 546 fives = 774 of 1,000
    assert (got.loc["csat", "numerator"], got.loc["csat", "denominator"]) == (top2, len(raw))
    assert got.loc["csat", "value"] == pytest.approx(top2 / len(raw))
    assert got.loc["csat_mean", "value"] == pytest.approx(raw["Rating"].mean())
    # The export has no 0-10 question: NPS has no data, and says so.
    assert got.loc["nps", "status"] == "no_data" and pd.isna(got.loc["nps", "value"])


def test_an_unnamed_column_is_readable(tmp_path):
    published = tmp_path / "clothing_reviews_as_published.csv"
    published.write_text(REVIEWS.read_text(encoding="utf-8").replace("Review No,", ",", 1), encoding="utf-8")
    mappings = tmp_path / "maps"
    mappings.mkdir()
    (mappings / "m.yaml").write_text(
        "source: unnamed\ntable: surveys\ncolumns:\n  survey_id: _empty_1\n  ticket_id: _empty_1\n"
        "  responded_at: {constant: '2018-02-03'}\n  satisfaction: Rating\n", encoding="utf-8")
    (r,) = load_paths(tmp_path / "u.duckdb", [published], source="unnamed", mapping_dirs=[mappings],
                      show_progress=False)
    assert r.inserted == 1_000
