"""One check: judge every rule, decide what to send, send it, store it all.

The database is read read-only (a load may run meanwhile); the state file is written in one
``writer`` session that also holds its lock while sending, so two checks started together (cron
and a hand) never send the same alert twice. A target that fails is retried with back-off and
recorded as failed; the other targets are sent to all the same.
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aftersales.db import connect_readonly, writer
from alerts import channels, evaluate, messages, routing, settings
from alerts import state as S


@dataclass
class Event:
    rule_id: str
    key: str
    kind: str                      # fire | worse | repeat | resolve
    title: str
    body: str
    sends: list[channels.Delivery] = field(default_factory=list)
    to: list[str] = field(default_factory=list)  # the targets it goes (or, dry run, would go) to


@dataclass
class CheckResult:
    observations: list[evaluate.Observation]
    events: list[Event]
    now: dt.datetime

    @property
    def failed(self) -> list[tuple[Event, channels.Delivery]]:
        return [(e, d) for e in self.events for d in e.sends if d.status != "sent"]


def local_now(config: dict) -> dt.datetime:
    """Wall-clock time in the business time zone, naive (as the ledger stores it)."""
    tz = zoneinfo.ZoneInfo(config.get("timezone") or "Asia/Shanghai")
    return dt.datetime.now(tz).replace(tzinfo=None)


def run(db_path: Path, config: dict, now: dt.datetime | None = None, dry_run: bool = False,
        sleep: Any = time.sleep) -> CheckResult:
    """Evaluate every rule and (unless ``dry_run``) send and store. ``now``: the wall-clock time
    (default: now, business time zone) for cooldowns and the source ledger."""
    now = now or local_now(config)
    rules = settings.rules(config)
    targets = settings.targets(config)
    sec = settings.section(config)
    lang = config.get("language", "zh") if config.get("language") in ("zh", "en") else "zh"
    by_id = {r.id: r for r in rules}
    for r in rules:
        unknown = [t for t in (r.targets or ()) if t not in targets]
        if unknown:
            from aftersales.errors import UserError

            raise UserError(f"alerts.rules.{r.id}: target {unknown[0]!r} is not among [alerts.targets] "
                            f"({', '.join(targets) or 'none declared'})")
    con = connect_readonly(db_path)
    try:
        obs = evaluate.evaluate(con, db_path, rules, config, now)
        names = messages.outlet_names(con)
        regions_of = routing.outlet_regions(con)
    finally:
        con.close()

    muted: set[tuple[str, str]] = set()

    def route(rule: settings.Rule, ob: evaluate.Observation | None, key: tuple[str, str]) -> tuple[str, ...]:
        """The targets one alert goes to (per region, alerts.routing); none while it is muted
        (a resolve is always sent)."""
        if key in muted and (ob is None or ob.firing):
            return ()
        region = routing.region_of(rule, key[1], ob.filters if ob is not None else {}, regions_of)
        return tuple(routing.targets_for(rule, region, targets))

    def compose(rule: settings.Rule, ob: evaluate.Observation, kind: str, lg: str) -> tuple[str, str]:
        dim_names = names.get("outlet", {}) if (rule.by == "outlet" or rule.kind == "tickets_due") else {}
        url = messages.link(sec["dashboard_url"], ob.page, ob.filters, lg, names)
        return messages.text(rule, ob, kind, lg, url, {**dim_names, **messages.names_for(rule, ob)})

    if dry_run:
        prev = _read_prev(db_path)
        muted |= {(r, k) for r, k in S.read(db_path, "SELECT rule_id, key FROM alert_mutes WHERE muted_until > $now",
                                            {"now": now})}
        pending = []
        for ob in obs:
            kind = S.decide(prev.get((ob.rule_id, ob.key)), ob, by_id[ob.rule_id], now)
            if kind:
                pending.append((by_id[ob.rule_id], ob, (ob.rule_id, ob.key), kind))
        events = []
        for rule, items, kind, to in _batches(pending, int(sec["digest_after"]), route):
            if len(items) == 1:
                ev = Event(rule.id, items[0][1][1], kind, *compose(rule, items[0][0], kind, lang))
            else:
                url = messages.link(sec["dashboard_url"], evaluate.page_of(rule), {}, lang)
                every = {k: v for d in names.values() for k, v in d.items()}
                ev = Event(rule.id, "*", kind, *messages.digest(rule, [o for o, _ in items], kind, lang, url, every))
            ev.to = list(to)
            events.append(ev)
        return CheckResult(obs, events, now)

    events = []
    with writer(S.state_path(db_path)) as scon:
        scon.execute(S.DDL)
        prev = S.load_prev(scon)
        muted |= S.load_mutes(scon, now)
        seen = set()
        pending: list[tuple[settings.Rule, evaluate.Observation | None, tuple[str, str], str]] = []
        for ob in obs:
            key = (ob.rule_id, ob.key)
            seen.add(key)
            kind = S.decide(prev.get(key), ob, by_id[ob.rule_id], now)
            S.save_observation(scon, ob, kind, now, prev.get(key))
            if kind:
                pending.append((by_id[ob.rule_id], ob, key, kind))
        for key in S.gone(prev, seen, set(by_id)):
            S.resolve_gone(scon, key, now)
            rule = by_id[key[0]]
            ob = evaluate.Observation(key[0], key[1], None, judged=True, firing=False, page=evaluate.page_of(rule),
                                      note="gone")
            pending.append((rule, ob, key, "resolve"))
        for rule, items, kind, to in _batches(pending, int(sec["digest_after"]), route):
            if len(items) == 1:
                ob, key = items[0]

                def say(lg: str, rule=rule, ob=ob, kind=kind) -> tuple[str, str]:
                    return compose(rule, ob, kind, lg)
            else:  # one message for the lot; each key keeps its own state
                ob, key = None, (rule.id, "*")

                def say(lg: str, rule=rule, items=items, kind=kind) -> tuple[str, str]:
                    url = messages.link(sec["dashboard_url"], evaluate.page_of(rule), {}, lg)
                    every = {k: v for d in names.values() for k, v in d.items()}
                    return messages.digest(rule, [o for o, _ in items], kind, lg, url, every)
            title, body = say(lang)
            ev = Event(key[0], key[1], kind, title, body, to=list(to))
            event_id = S.add_event(scon, ob, key, kind, now, title, body)
            for tid in ev.to:
                t = targets[tid]
                t_title, t_body = (title, body) if t.lang == lang else say(t.lang)
                d = channels.send(t, t_title, t_body, retries=int(sec["retries"]),
                                  backoff=float(sec["backoff_seconds"]), sleep=sleep)
                ev.sends.append(d)
                S.add_send(scon, event_id, tid, now, d.status, d.attempts, d.error)
            events.append(ev)
    return CheckResult(obs, events, now)


def _batches(pending: list, digest_after: int, route: Any) -> list[tuple[settings.Rule, list, str, tuple]]:
    """Events grouped per rule, kind and the targets they go to (``route(rule, ob, key)``: a
    digest never mixes two regions whose targets differ); a group larger than ``digest_after``
    goes as one message."""
    groups: dict[tuple[str, str, tuple], list] = {}
    rules = {}
    for rule, ob, key, kind in pending:
        groups.setdefault((rule.id, kind, route(rule, ob, key)), []).append((ob, key))
        rules[rule.id] = rule
    out = []
    for (rid, kind, to), items in groups.items():
        limit = int(rules[rid].params.get("digest_after", digest_after))
        if len(items) > limit:
            out.append((rules[rid], items, kind, to))
        else:
            out += [(rules[rid], [item], kind, to) for item in items]
    return out


def _read_prev(db_path: Path) -> dict[tuple[str, str], S.Prev]:
    rows = S.read(db_path, "SELECT rule_id, key, firing, started_at, last_sent_at, sent_excess FROM alert_state")
    return {(r, k): S.Prev(f, s, ls, se) for r, k, f, s, ls, se in rows}
