"""`aftersales alerts check|list|due`: for cron and systemd timers (docs/ALERTS.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from aftersales.errors import UserError, clip


def register(sub: Any) -> None:
    p = sub.add_parser("alerts", help="alert rules: check and send, list what is firing, tickets about to breach",
                       description="Alert rules from the config's [alerts] section (docs/ALERTS.md).")
    s = p.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    c = s.add_parser("check", help="judge every rule, send what starts, worsens, repeats or ends; store it all")
    c.add_argument("--dry-run", action="store_true", help="judge and print what would be sent; send and store nothing")
    c.add_argument("--now", metavar="YYYY-MM-DDTHH:MM", help="the wall-clock time to judge at (default: now)")
    c.set_defaults(func=cmd_check)
    ls = s.add_parser("list", help="what is firing now (--all: every rule's last values)")
    ls.add_argument("--all", action="store_true", help="every rule and key with its last value, firing or not")
    ls.set_defaults(func=cmd_list)
    d = s.add_parser("due", help="tickets about to breach (即将超时), breached, stale, by outlet")
    d.add_argument("--tickets", action="store_true", help="one line per ticket and stage, not per outlet")
    d.set_defaults(func=cmd_due)
    for sp in (c, ls, d):
        sp.add_argument("--lang", choices=("zh", "en"), help="language of the output (default: config `language`, zh)")


# key -> (中文, English): what the commands print (codes such as rule ids, outlet ids stay codes)
WORDS = {
    "judged": ("规则共得出 {n} 个数值(已判断 {judged} 个,未判断 {silent} 个),告警中 {firing} 个;{verb}事件 {events} 条",
               "{n} values judged by the rules ({judged} judged, {silent} silent), {firing} firing; {events} events "
               "{verb}"),
    "sent": ("已发送", "sent"), "would_send": ("将发送", "would send"),
    "to": ("发往", "to"), "muted": ("已静音,不发送", "muted, not sent"),
    "no_target": ("未配置发送对象,不发送", "no delivery target configured, not sent"),
    "nothing_firing": ("当前没有告警", "nothing firing"),
    "no_check": ("尚未运行告警检查:运行 `aftersales alerts check`", "no check has run yet: run `aftersales alerts check`"),
    "list_header": (("规则", "对象", "告警中", "已判断", "数值", "对比值", "样本", "周期", "开始", "最近发送", "检查时间", "备注"),
                    ("rule", "key", "firing", "judged", "value", "compared", "sample", "period", "since", "last_sent",
                     "checked", "note")),
    "yes": ("是", "yes"), "no": ("否", "no"),
    "none_due": ("没有即将超时或已超时的未结工单", "no open ticket is due soon or overdue"),
    "as_of": ("截至 {t}(数据中最新的工单)", "as of {t} (the data's latest ticket)"),
    "due_header": (("网点", "名称", "即将超时", "已超时", "久未处理", "师傅"),
                   ("outlet", "name", "due_soon", "breached", "stale", "technicians")),
    "days_over": ("已超时 {n} 天", "{n} days overdue"), "hours_over": ("已超时 {n} 小时", "{n} h overdue"),
    "due_in": ("{n} 小时后到期", "due in {n} h"),
}
EVENT_WORDS = {"fire": ("触发", "fire"), "worse": ("恶化", "worse"), "repeat": ("重复提醒", "repeat"),
               "resolve": ("恢复", "resolve")}
CATEGORY_WORDS = {"due_soon": ("即将超时", "due_soon"), "breached": ("已超时", "breached"), "stale": ("久未处理", "stale")}
STAGE_WORDS = {"first_response": ("首次响应", "first_response"), "onsite": ("上门", "onsite"),
               "resolution": ("完成", "resolution")}


def _w(key: str, lang: str, **kw: object) -> Any:
    text = WORDS[key][0 if lang == "zh" else 1]
    return text.format(**kw) if isinstance(text, str) else text


def _lang(args: argparse.Namespace, config: dict) -> str:
    lang = getattr(args, "lang", None) or config.get("language")
    return lang if lang in ("zh", "en") else "zh"


def _pick(table: dict[str, tuple[str, str]], code: str, lang: str) -> str:
    return table[code][0 if lang == "zh" else 1] if code in table else code


def _setup(args: argparse.Namespace) -> tuple[Any, dict]:
    from aftersales.config import load_config, resolve_db_path

    db = resolve_db_path(args.db)
    try:
        config = load_config(args.config, db)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    return db, config


def cmd_check(args: argparse.Namespace) -> int:
    from alerts import check, settings

    db, config = _setup(args)
    now = None
    if args.now:
        try:
            now = dt.datetime.fromisoformat(args.now)
        except ValueError:
            raise UserError(f"--now {clip(args.now)} is not a time; write e.g. 2026-11-02T09:00") from None
    lang = _lang(args, config)
    result = check.run(db, config, now=now, dry_run=args.dry_run)
    judged = sum(o.judged for o in result.observations)
    firing = sum(o.firing for o in result.observations)
    print(_w("judged", lang, n=len(result.observations), judged=judged, silent=len(result.observations) - judged,
             firing=firing, events=len(result.events), verb=_w("would_send" if args.dry_run else "sent", lang)))
    has_targets = bool(settings.targets(config))
    for e in result.events:
        sends = ", ".join(f"{d.target}: {d.status}" for d in e.sends)
        if args.dry_run:  # where it would go (per region: alerts.routing)
            # no target at all (the sample's shipped config) is not the same as muted
            sends = (f"{_w('to', lang)} {', '.join(e.to)}" if e.to else
                     _w("muted", lang) if has_targets else _w("no_target", lang))
        print(f"- {_pick(EVENT_WORDS, e.kind, lang):7} {e.title}" + (f"  [{sends}]" if sends else ""))
    failed = result.failed
    if failed:
        detail = "; ".join(f"{d.target} ({e.rule_id}): {d.error}" for e, d in failed[:3])
        raise UserError(f"{len(failed)} send(s) failed after {failed[0][1].attempts} attempts, recorded in the "
                        f"alert log; {detail}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from alerts import state

    db, config = _setup(args)
    lang = _lang(args, config)
    rows = state.read(db, "SELECT rule_id, key, firing, judged, value, compared, compared_kind, sample, period, "
                          "started_at, last_sent_at, checked_at, note FROM alert_state "
                          + ("" if args.all else "WHERE firing ") + "ORDER BY rule_id, key")
    if not rows:
        print(_w("nothing_firing" if not args.all else "no_check", lang))
        return 0
    print("\t".join(_w("list_header", lang)))
    yes, no = _w("yes", lang), _w("no", lang)
    for r in rows:
        rule, key, firing, judged, value, compared, ck, sample, period, started, sent, checked, note = r
        print("\t".join(str(x) if x is not None else "" for x in (
            rule, key or "-", yes if firing else no, yes if judged else no,
            None if value is None else round(value, 4), None if compared is None else f"{ck} {round(compared, 4)}",
            sample, period, started, sent, checked, note)))
    return 0


def cmd_due(args: argparse.Namespace) -> int:
    from alerts import due

    db, config = _setup(args)
    lang = _lang(args, config)
    rows, now = due.work_list(db, config)
    if now is None or rows.is_empty():
        print(_w("none_due", lang))
        return 0
    print(_w("as_of", lang, t=f"{now:%Y-%m-%d %H:%M}"))
    if args.tickets:
        for r in rows.iter_rows(named=True):
            late = (_w("days_over", lang, n=r["overdue_days"]) if r["overdue_days"] is not None
                    else _w("hours_over", lang, n=f"{-r['hours_left']:.1f}") if r["hours_left"] <= 0
                    else _w("due_in", lang, n=f"{r['hours_left']:.1f}"))
            print(f"{_pick(CATEGORY_WORDS, r['category'], lang)}\t{r['outlet_id'] or '-'}\t{r['technician_id'] or '-'}\t"
                  f"{r['ticket_id']}\t{_pick(STAGE_WORDS, r['stage'], lang)}\t{late}")
        return 0
    print("\t".join(_w("due_header", lang)))
    for r in due.by_outlet(rows).iter_rows(named=True):
        print(f"{r['outlet_id'] or '-'}\t{r['outlet_name'] or ''}\t{r['due_soon']}\t{r['breached']}\t{r['stale']}\t"
              f"{r['technicians'] or '-'}")
    sys.stdout.flush()
    return 0
