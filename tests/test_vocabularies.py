"""Open code lists: channels, service types, regions, priorities and categories extended in the
config file with 中文/English labels, no code; `values:` takes an `else:` default."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import metrics
from aftersales import config, i18n, model
from aftersales.cli import main
from aftersales.errors import UserError
from aftersales.principal import DataScope
from metrics.compute import check_where
from pipelines.load import load_paths
from pipelines.mapping import parse_mapping
from tests.conftest import write

CONFIG = """
[vocabularies.channels]
email = { zh = "邮件", en = "Email" }
web = "网页"

[vocabularies.regions]
loc204 = { zh = "204区", en = "Location 204" }

[vocabularies.categories]
laptop = { zh = "笔记本", en = "Laptop" }
"""


@pytest.fixture(autouse=True)
def _builtin_codes_after():
    yield
    config.apply_vocabularies(config.DEFAULTS)


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _tickets(tmp_path: Path) -> Path:
    return write(tmp_path / "in" / "tickets.csv", "ticket_id,channel,service_type,status,created_at\n"
                 "A1,email,repair,open,2024-06-02 09:00:00\n"
                 "A2,web,repair,open,2024-06-02 09:00:00\n"
                 "A3,jd,repair,open,2024-06-02 09:00:00\n")


def test_config_codes_are_accepted_listed_and_labelled(tmp_path, db_path):
    cfg = write(tmp_path / "aftersales.toml", CONFIG)
    assert main(["--db", str(db_path), "--config", str(cfg), "load", str(_tickets(tmp_path))]) == 0
    assert _rows(db_path, "SELECT ticket_id, channel FROM tickets ORDER BY 1") == [
        ("A1", "email"), ("A2", "web"), ("A3", "jd")]
    assert i18n.code_label("channel", "email", "zh") == "邮件"
    assert i18n.code_label("channel", "email", "en") == "Email"
    assert i18n.code_label("region", "loc204", "en") == "Location 204"
    assert model.extended(model.PRODUCT_CATEGORIES)["laptop"] == "笔记本"
    values = metrics.dimension_values(db_path, "channel", scope=DataScope())
    assert ("email", "邮件") in list(values.iter_rows())
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert check_where(con, {"channel": ["邮件", "web"]}) == {"channel": ["email", "web"]}
    df = metrics.query(db_path, metrics=["ticket_volume"], by=["channel"], grain=None,
                       config=config.load_config(cfg), scope=DataScope())
    assert dict(zip(df["channel"].to_list(), df["value"].to_list(), strict=True)) == {"email": 1, "web": 1, "jd": 1}
    # the built-in lists themselves never change
    assert "email" not in model.CHANNELS


def test_without_the_config_the_codes_are_unknown(tmp_path, db_path):
    config.load_config()  # defaults: only the built-in codes
    res = load_paths(db_path, [_tickets(tmp_path)], show_progress=False, max_quarantined_share=1.0)[-1]
    assert (res.inserted, res.quarantined) == (1, 2)
    msg = _rows(db_path, "SELECT message FROM quarantine WHERE row_number = 1")[0][0]
    assert "[vocabularies.channels]" in msg  # the fix names the config section


def test_a_mapping_constant_may_use_a_config_code(tmp_path):
    raw = {"source": "x", "table": "tickets", "columns": {
        "ticket_id": "id", "channel": {"constant": "email"}, "service_type": {"constant": "repair"},
        "status": {"constant": "open"}, "created_at": "t"}}
    with pytest.raises(UserError, match="constant 'email' is not a known code"):
        parse_mapping(raw, "x.yaml")
    config.load_config(write(tmp_path / "c.toml", CONFIG))
    assert parse_mapping(raw, "x.yaml").columns[1].constant == "email"


def test_bad_vocabularies_say_what_is_valid(tmp_path):
    with pytest.raises(UserError, match="not a code list that can be extended"):
        config.load_config(write(tmp_path / "c.toml", "[vocabularies.statuses]\nparked = \"挂起\"\n"))
    with pytest.raises(UserError, match="must be letters, digits and _"):
        config.load_config(write(tmp_path / "d.toml", "[vocabularies.channels]\n\"e mail\" = \"邮件\"\n"))


MAPPING = """source: desk
table: tickets
match: ["desk*.csv"]
columns:
  ticket_id: Number
  channel: {constant: phone}
  service_type: {constant: repair}
  status:
    column: State
    values: {New: open, Closed: closed, else: in_progress}
  priority:
    column: Priority
    values: {1 - Critical: urgent, 4 - Low: low, Unknown: null}
    default: normal
  created_at: Opened
"""


def test_values_take_an_else_default(tmp_path, db_path):
    write(tmp_path / "maps" / "desk.yaml", MAPPING)
    f = write(tmp_path / "in" / "desk_1.csv", "Number,State,Priority,Opened\n"
              "INC1,New,1 - Critical,2024-06-02 09:00:00\n"
              "INC2,Awaiting User Info,3 - Moderate,2024-06-02 09:00:00\n"   # else → in_progress, default → normal
              "INC3,Closed,,2024-06-02 09:00:00\n"                            # empty stays empty
              "INC4,Resolved,Unknown,2024-06-02 09:00:00\n")                  # mapped to null stays empty
    res = load_paths(db_path, [f], mapping_dirs=[tmp_path / "maps"], show_progress=False)[-1]
    assert (res.inserted, res.quarantined) == (4, 0)
    assert _rows(db_path, "SELECT ticket_id, status, priority FROM tickets ORDER BY 1") == [
        ("INC1", "open", "urgent"), ("INC2", "in_progress", "normal"), ("INC3", "closed", None),
        ("INC4", "in_progress", None)]


def test_a_default_that_is_no_code_is_a_mapping_error():
    raw = {"source": "x", "table": "tickets", "columns": {
        "ticket_id": "id", "channel": {"column": "c", "values": {"Mail": "email", "else": "fone"}},
        "service_type": {"constant": "repair"}, "status": {"constant": "open"}, "created_at": "t"}}
    with pytest.raises(UserError, match="'Mail' → 'email' is not a known code"):
        parse_mapping(raw, "x.yaml")
    raw["columns"]["channel"]["values"] = {"Mail": "phone", "else": "fone"}
    with pytest.raises(UserError, match="`else:` default 'fone' is not a known code"):
        parse_mapping(raw, "x.yaml")
