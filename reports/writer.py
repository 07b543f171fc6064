"""File names and atomic writing.

Every format is rendered in memory first, so a failure anywhere (a query, Chromium) writes
nothing; then each file is written to a hidden temporary file in the target directory, flushed
to disk and renamed over the final name, so a reader sees the previous file or the new one,
never half of one. Names are predictable: ``aftersales_kpi_<period>[_<filters>][_by-<dims>][_en].<ext>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from aftersales.errors import UserError
from reports.content import DEFAULT_BY, Report

FORMATS = ("html", "xlsx", "pdf", "csv")
MAX_STEM = 120


def parse_formats(text: str | None) -> list[str]:
    names = [f.strip().lower() for f in (text or ",".join(FORMATS)).split(",") if f.strip()]
    unknown = [f for f in names if f not in FORMATS]
    if unknown or not names:
        raise UserError(f"unknown format {', '.join(unknown) or '(none)'}; valid formats: {','.join(FORMATS)} "
                        f"(comma-separated, e.g. --format html,xlsx)")
    return [f for f in FORMATS if f in names]  # a fixed order whatever the order asked


def _slug(text: str) -> str:
    return re.sub(r"[^\w\-]+", "-", text, flags=re.UNICODE).strip("-") or "x"


def file_stem(report: Report) -> str:
    parts = ["aftersales_kpi", report.period.slug]
    parts += [f"{_slug(d)}-{'+'.join(_slug(v) for v in vs)}" for d, vs in report.where.items()]
    # a scoped pack never overwrites head office's (nor one of another scope) in the same folder
    parts += [f"scope-{_slug(d)}-{'+'.join(_slug(v) for v in vs)}" for d, vs in report.scope.where()]
    if tuple(report.by) != DEFAULT_BY:
        parts.append("by-" + "+".join(report.by))
    if report.lang != "zh":
        parts.append(report.lang)
    stem = "_".join(parts)
    if len(stem) > MAX_STEM:  # many filter values: keep it readable and still unique
        digest = hashlib.sha1(stem.encode("utf-8")).hexdigest()[:10]
        stem = stem[: MAX_STEM - 11] + "_" + digest
    return stem


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that no reader ever sees a partial file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def render(report: Report, formats: list[str]) -> dict[str, bytes]:
    """Every requested format as bytes (the page first: the PDF is printed from it)."""
    from reports import csvout, html, xlsx

    out: dict[str, bytes] = {}
    page = b""
    if "html" in formats or "pdf" in formats:
        page = _timed(report, "html", lambda: html.render(report).encode("utf-8"))
        out["html"] = page
    if "xlsx" in formats:
        out["xlsx"] = _timed(report, "xlsx", lambda: xlsx.render(report))
    if "csv" in formats:
        out["csv"] = _timed(report, "csv", lambda: csvout.render(report))
    if "pdf" in formats:
        from reports import pdf

        n_charts = sum(1 for t in report.tables() if t.chart is not None and t.html_limit != 0)
        stamp = report.created.strftime("%Y%m%d%H%M%S")
        out["pdf"] = _timed(report, "pdf", lambda: pdf.render(page.decode("utf-8"), report.title, stamp, n_charts))
    return {f: out[f] for f in FORMATS if f in formats}


def _timed(report: Report, name: str, fn: Callable[[], bytes]) -> bytes:
    t = time.perf_counter()
    try:
        return fn()
    finally:
        report.timings[f"render_{name}"] = time.perf_counter() - t


def write(report: Report, formats: list[str], out_dir: Path) -> list[Path]:
    """Render and write the report; returns the paths written, in format order."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the output directory {out_dir}: {exc.strerror}; pick another --out") from None
    if not os.access(out_dir, os.W_OK):
        raise UserError(f"the output directory {out_dir} is not writable; pick another --out or fix its permissions")
    rendered = render(report, formats)
    stem = file_stem(report)
    t = time.perf_counter()
    paths = []
    for fmt, data in rendered.items():
        path = out_dir / f"{stem}.{fmt}"
        try:
            atomic_write(path, data)
        except OSError as exc:
            raise UserError(f"cannot write {path}: {exc.strerror}") from None
        paths.append(path)
    report.timings["write_files"] = time.perf_counter() - t
    return paths
