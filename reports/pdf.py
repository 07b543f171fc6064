"""The report as PDF: the HTML printed by headless Chromium (A4, paginated, charts drawn).

Chromium is Debian's package at /usr/bin/chromium (``AFTERSALES_CHROMIUM`` overrides), driven by
Playwright. The page is laid out at the printed width with print styles before the charts draw,
and printed once every chart has signalled it is drawn. Chromium stamps the print time into the
PDF; it is replaced by the report's own date (the data's freshness), so a re-run on the same data
gives the same bytes.
"""

from __future__ import annotations

import os
import re
import shutil
from html import escape
from pathlib import Path

from aftersales.errors import UserError

DEFAULT_CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--font-render-hinting=none"]
# A4 minus the side margins below, in CSS pixels: the width the page is laid out at.
PRINT_WIDTH_PX = 718
MARGIN = {"top": "12mm", "right": "10mm", "bottom": "14mm", "left": "10mm"}
INSTALL = "install Debian's chromium: apt-get install chromium (or set AFTERSALES_CHROMIUM to a Chromium binary)"


def chromium_path() -> str | None:
    """The Chromium binary to print with, or None when there is none."""
    env = os.environ.get("AFTERSALES_CHROMIUM")
    for candidate in (env, DEFAULT_CHROMIUM, shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def check_available() -> str:
    """The Chromium path, or a UserError saying what to install (checked before any query runs)."""
    path = chromium_path()
    if path is None:
        raise UserError(f"PDF output needs Chromium, which was not found: {INSTALL}; or leave pdf out of --format")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise UserError("PDF output needs the playwright package: pip install playwright "
                        "(the browser itself comes from Debian's chromium)") from None
    return path


def _fixed_dates(pdf: bytes, stamp: str) -> bytes:
    """Replace Chromium's creation/modification dates by ``stamp`` (a PDF date body, e.g.
    20261031235959) keeping every byte offset, so the cross-reference table stays valid."""
    def repl(m: re.Match[bytes]) -> bytes:
        old = m.group(2)
        new = stamp.encode("ascii")[: len(old)].ljust(len(old), b"0") if len(old) >= len(stamp) else old
        return m.group(1) + new + m.group(3)

    return re.sub(rb"(/(?:CreationDate|ModDate) \(D:)([0-9]+)([^)]*\))", repl, pdf)


def render(html: str, title: str, stamp: str, n_charts: int, timeout_s: float = 120.0) -> bytes:
    """Print ``html`` to PDF bytes; waits for ``n_charts`` charts to be drawn."""
    path = check_available()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    footer = (f'<div style="font-size:8px;width:100%;padding:0 10mm;color:#6b7280;'
              f'font-family:Noto Sans CJK SC,sans-serif;display:flex;justify-content:space-between">'
              f'<span>{escape(title)}</span><span><span class="pageNumber"></span> / '
              f'<span class="totalPages"></span></span></div>')
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=path, args=ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 1100})
                page.emulate_media(media="print")
                page.set_content(html, wait_until="load", timeout=timeout_s * 1000)
                if n_charts:
                    page.wait_for_function(f"(window.__reportChartsDone || 0) >= {int(n_charts)}",
                                           timeout=timeout_s * 1000)
                page.evaluate("document.fonts.ready.then(() => true)")
                pdf = page.pdf(format="A4", print_background=True, margin=MARGIN, display_header_footer=True,
                               header_template="<span></span>", footer_template=footer)
            finally:
                browser.close()
    except PlaywrightError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"Chromium could not print the PDF ({first}); check that {path} runs: {path} --version") from None
    return _fixed_dates(pdf, stamp)
