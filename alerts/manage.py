"""Managing alerts from the dashboard (issue 17): mute a firing alert for some hours, or lift a
mute. Only a principal with the ``alerts`` permission may (``aftersales.permits.Refused``
otherwise, whatever page called); for anyone else the Alerts page is read-only.

A muted alert is still judged and its events stored (the history shows them), but nothing is
sent until the mute ends; its resolve is sent as usual. Times are wall-clock in the business time
zone, as the rest of the alert state (``alerts.check.local_now``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from aftersales import permits
from aftersales.db import writer
from aftersales.errors import UserError
from alerts import state as S

MAX_HOURS = 24 * 14  # a mute longer than two weeks is a rule to switch off in the config


def mute(db_path: Path, principal: Any, rule_id: str, key: str, hours: float, now: dt.datetime,
         lang: str = "zh") -> dt.datetime:
    """Mute one alert (rule × key) for ``hours`` from ``now``; the time it ends."""
    permits.require(principal, "alerts", lang)
    if not 0 < hours <= MAX_HOURS:
        raise UserError(f"mute for 1 to {MAX_HOURS} hours, not {hours}; switch a rule off in the config's [alerts]")
    until = now + dt.timedelta(hours=hours)
    with writer(S.state_path(db_path)) as con:
        con.execute(S.DDL)
        con.execute("INSERT OR REPLACE INTO alert_mutes VALUES ($r, $k, $until, $by, $now)",
                    {"r": rule_id, "k": key, "until": until, "by": principal.username, "now": now})
    return until


def unmute(db_path: Path, principal: Any, rule_id: str, key: str, lang: str = "zh") -> None:
    """Lift a mute (its next event is sent as usual)."""
    permits.require(principal, "alerts", lang)
    with writer(S.state_path(db_path)) as con:
        con.execute(S.DDL)
        con.execute("DELETE FROM alert_mutes WHERE rule_id = $r AND key = $k", {"r": rule_id, "k": key})


COLUMNS = ["rule_id", "key", "muted_until", "muted_by", "muted_at"]


def mutes(db_path: Path, now: dt.datetime) -> pl.DataFrame:
    """The mutes in force at ``now``, ending soonest first."""
    rows = S.read(db_path, f"SELECT {', '.join(COLUMNS)} FROM alert_mutes WHERE muted_until > $now "
                           "ORDER BY muted_until, rule_id, key", {"now": now})
    schema = {"rule_id": pl.String, "key": pl.String, "muted_until": pl.Datetime("us"), "muted_by": pl.String,
              "muted_at": pl.Datetime("us")}
    return pl.DataFrame(rows, schema=schema, orient="row")
