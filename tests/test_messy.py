"""The messy generator output, loaded as it arrives: exact counts, and exactly the broken rows
quarantined (expected.json is the generator's ground truth)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.generate import generate
from pipelines.load import load_paths
from tests.conftest import table_rows


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> tuple[Path, dict, list]:
    out = tmp_path_factory.mktemp("messy_sample")
    generate(out, tickets=5000, seed=11, messy=True, end="2026-10-31", progress=False)
    expected = json.loads((out / "messy" / "expected.json").read_text(encoding="utf-8"))
    db = out / "messy.duckdb"
    # The order a person would follow (README.txt): masters, the first export, then later ones.
    results = load_paths(db, [out / "messy" / name for name in expected["load_order"]], show_progress=False)
    return db, expected, results


def test_every_file_lands_with_exact_counts(messy):
    db, expected, results = messy
    by_file = {r.path.name: r for r in results}
    assert set(by_file) == {f["file"] for f in expected["files"]}
    for f in expected["files"]:
        r = by_file[f["file"]]
        assert r.source == f["source"] and r.table == f["table"]
        assert r.rows_read == f["rows"], f["file"]
        assert r.rows_read == r.inserted + r.updated + r.unchanged + r.quarantined
        assert r.quarantined == len(f["broken"]), (f["file"], r)
    ledger = table_rows(db, "SELECT sum(rows_read), sum(inserted + updated + unchanged + quarantined) FROM loads")
    assert ledger[0][0] == ledger[0][1] == sum(f["rows"] for f in expected["files"])


def test_exactly_the_broken_rows_are_quarantined(messy):
    db, expected, _ = messy
    want = {(f["file"], b.get("sheet"), b["row"], b["rule"], b["column"])
            for f in expected["files"] for b in f["broken"]}
    got = set(table_rows(db, "SELECT file_name, sheet, row_number, rule, column_name FROM quarantine"))
    assert got == want


def test_re_exports_update_and_never_duplicate(messy):
    db, expected, _ = messy
    for table, n in expected["expected_rows"].items():
        key = {"tickets": "ticket_id", "surveys": "survey_id", "outlets": "outlet_id", "technicians": "technician_id",
               "products": "product_model", "parts_inventory": "part_no"}[table]
        assert table_rows(db, f"SELECT count(*), count(DISTINCT {key}) FROM {table}") == [(n, n)], table
    # A re-export with newer statuses landed as updates, not as new tickets.
    assert table_rows(db, "SELECT sum(updated) FROM loads WHERE table_name = 'tickets'")[0][0] > 0


def test_loading_the_messy_exports_again_changes_nothing(messy, tmp_path):
    db, expected, _ = messy
    tables = ["tickets", "surveys", "outlets", "technicians", "quarantine"]
    before = {t: table_rows(db, f"SELECT count(*), sum(hash(columns(*))) FROM {t}") for t in tables}
    again = load_paths(db, [db.parent / "messy" / n for n in expected["load_order"]], show_progress=False)
    assert all(r.status == "duplicate" and r.inserted == r.updated == 0 for r in again)
    assert {t: table_rows(db, f"SELECT count(*), sum(hash(columns(*))) FROM {t}") for t in tables} == before


def test_the_event_log_split_in_any_order_gives_the_same_tickets(messy, tmp_path):
    # `mode: events` is stored as events (pipelines/fold.py): the second half of the update log
    # loaded before the first must give the tickets the whole log gives (a key's creation row
    # may be in the other half).
    db, expected, _ = messy
    messy_dir = db.parent / "messy"
    log = next(messy_dir.glob("工单事件流水*.csv"))
    masters = [messy_dir / n for n in expected["load_order"] if n != log.name][:3]
    assert all("工单" not in m.name for m in masters)
    header, *rows = log.read_text(encoding="utf-8").splitlines(keepends=True)
    half = len(rows) // 2
    parts = []
    for i, chunk in enumerate((rows[:half], rows[half:])):
        part = tmp_path / f"工单事件流水_{i}.csv"
        part.write_text(header + "".join(chunk), encoding="utf-8")
        parts.append(part)
    dumps = []
    for name, files in (("whole", [log]), ("reversed", [parts[1], parts[0]])):
        target = tmp_path / f"{name}.duckdb"
        load_paths(target, masters, show_progress=False)
        results = load_paths(target, files, show_progress=False, max_quarantined_share=1.0)
        assert all(r.rows_read == r.inserted + r.updated + r.unchanged + r.quarantined for r in results)
        dumps.append(table_rows(target, "SELECT * EXCLUDE (_load_id, _row_hash) FROM tickets ORDER BY ticket_id"))
    assert dumps[0] == dumps[1] and len(dumps[0]) > 0


def test_the_exports_over_the_clean_sample_contradict_nothing(messy, tmp_path):
    # The messy files re-export tickets of the clean sample. A column the clean tickets carry and an
    # export leaves out (the cost columns, the complaint text) would read as empty at the same
    # version: a contradiction, quarantined as duplicate_key, and the file refused past 50%.
    db, expected, _ = messy
    root = db.parent
    both = tmp_path / "both.duckdb"
    load_paths(both, [root / f"{t}.parquet" for t in ("outlets", "technicians", "products", "tickets", "surveys")],
               show_progress=False)
    results = load_paths(both, [root / "messy" / name for name in expected["load_order"]], show_progress=False)
    assert all(r.rows_read == r.inserted + r.updated + r.unchanged + r.quarantined for r in results)
    planted = {(f["file"], b["row"]) for f in expected["files"] for b in f["broken"] if b["rule"] == "duplicate_key"}
    # (Tmall masks its customers' phones, 138****5678: a real difference from the clean sample, and
    # a contradiction where a row keeps the clean one's version to the second.)
    contradicted = set(table_rows(both, "SELECT file_name, row_number FROM quarantine WHERE rule = 'duplicate_key' "
                                        "AND NOT starts_with(file_name, '天猫淘宝')"))
    assert contradicted <= planted, sorted(contradicted - planted)[:5]
    assert any(r.path.name.startswith("平台售后单") and r.unchanged for r in results)
