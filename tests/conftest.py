"""Shared fixtures: small hand-built exports, written the way each test needs them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

OUTLETS_CSV = """outlet_id,outlet_name,region,city,city_tier,outlet_type,opened_on
O1,上海徐汇店,east,上海,1,own,2020-01-01
O2,信阳代理,central,信阳,4,outsourced,2021-03-05
"""

TECHS_CSV = """technician_id,technician_name,outlet_id,skills,skill_level,hired_on,active
T01,王师傅,O1,"install,repair",4,2019-05-01,true
T02,李师傅,O2,repair,2,2022-01-10,true
"""

TICKET_HEADER = ("ticket_id,channel,service_type,priority,status,outlet_id,technician_id,product_model,customer_id,"
                 "customer_name,customer_phone,order_id,created_at,first_response_at,dispatched_at,resolved_at,"
                 "closed_at,resolution,is_complaint,complaint_reason,reopened_at,refund_requested_at,refunded_at,"
                 "refund_amount,updated_at")


def ticket_row(tid: str, *, channel: str = "tmall", service: str = "repair", status: str = "open",
               outlet: str = "O1", tech: str = "T01", created: str = "2024-01-05 09:03:00", resolved: str = "",
               resolution: str = "", complaint: str = "false", updated: str = "") -> str:
    return (f"{tid},{channel},{service},normal,{status},{outlet},{tech},KFR-35GW,C{tid},张三,13800000000,,"
            f"{created},,,{resolved},,{resolution},{complaint},,,,,,{updated or created}")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def masters(tmp_path: Path) -> list[Path]:
    return [write(tmp_path / "in" / "outlets.csv", OUTLETS_CSV), write(tmp_path / "in" / "technicians.csv", TECHS_CSV)]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "aftersales.duckdb"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def table_rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's AppTest installs the app as `__main__`; a process pool started later (the
    forecast executor spawns workers) would then re-run the dashboard in every worker."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main
