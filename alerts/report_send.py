"""``aftersales report ... --send TARGET``: the report pack delivered to an alert target. Mail gets
the PDF attached (else the files written); a robot gets a short summary (the headline KPIs with
their target status) and a link to the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aftersales.errors import UserError
from alerts import channels, messages, settings

STATUS_WORDS = {"met": ("达标", "met"), "missed": ("未达标", "missed"), "too_small": ("样本不足", "sample too small"),
                "provisional": ("暂定", "provisional")}


def summary(report: Any, lang: str, limit: int = 8) -> list[str]:
    """One line per headline KPI (whole scope, no breakdown): value, target and status."""
    from metrics import registry as R

    rows = report.kpis
    dims = [c for c in rows.columns if c in R.DIMENSIONS]
    lines = []
    for r in rows.iter_rows(named=True):
        if any(r.get(d) is not None for d in dims) or r["value"] is None or r["kpi"] not in R.KPIS:
            continue
        k = R.KPIS[r["kpi"]]
        status = STATUS_WORDS.get(r["status"] or "", None)
        tgt = "" if r["target"] is None else ("，目标 " if lang == "zh" else ", target ") + format(r["target"], k.fmt)
        st = "" if status is None else ("，" if lang == "zh" else ", ") + status[0 if lang == "zh" else 1]
        lines.append(f"{k.label(lang)} {format(r['value'], k.fmt)}{tgt}{st}")
        if len(lines) >= limit:
            break
    return lines


def send(report: Any, paths: list[Path], target_ids: list[str], config: dict,
         db: Path | None = None) -> list[channels.Delivery]:
    """Deliver to each target; failures come back (the caller reports them), never raise. With
    ``db``, each send (ok or failed) is recorded in the audit trail beside it (issue 17): which
    pack, to which target, how many recipients; ``AuditFailed`` after every send when one could
    not be recorded."""
    targets = settings.targets(config)
    unknown = [t for t in target_ids if t not in targets]
    if unknown:
        raise UserError(f"--send {unknown[0]}: no such target in [alerts.targets] ({', '.join(targets) or 'none declared'})")
    sec = settings.section(config)
    out = []
    for tid in target_ids:
        t = targets[tid]
        lang = t.lang
        title = ("【报表】" if lang == "zh" else "[Report] ") + report.title
        url = messages.link(sec["dashboard_url"], "overview", {d: v[0] for d, v in report.where.items() if len(v) == 1},
                            lang)
        body = "\n".join([title, *summary(report, lang), ("查看：" if lang == "zh" else "Open: ") + url])
        attach = None
        if t.kind == "mail":
            pdfs = [str(p) for p in paths if p.suffix == ".pdf"]
            attach = pdfs or [str(p) for p in paths]
        out.append(channels.send(t, title, body, attach=attach, retries=int(sec["retries"]),
                                 backoff=float(sec["backoff_seconds"])))
    if db is not None:
        record(db, report, paths, out, targets)
    return out


class AuditFailed(UserError):
    """The pack was delivered but its send could not be recorded in the audit trail."""


def record(db: Path, report: Any, paths: list[Path], deliveries: list[channels.Delivery],
           targets: dict[str, settings.Target]) -> None:
    """One ``report_send`` audit event per delivery, under the operating system's user that ran
    the command (cron's, for a scheduled pack)."""
    from aftersales import audit

    pack = paths[0].stem if paths else str(report.title)
    sender = audit.os_user()
    failed = []
    for d in deliveries:
        t = targets[d.target]
        try:
            audit.record_report_send(db, pack, d.target, t.kind, channels.recipients(t), d.status == "sent",
                                     error=d.error, where=dict(report.where), sender=sender)
        except Exception as exc:  # noqa: BLE001 - every send is tried; the failure is said once, after
            failed.append(f"{d.target}: {type(exc).__name__}")
    if failed:
        raise AuditFailed(f"the report was sent but {len(failed)} send(s) could not be recorded in the audit trail "
                          f"{audit.audit_path(db)} ({'; '.join(failed[:3])}); check that file is writable")
