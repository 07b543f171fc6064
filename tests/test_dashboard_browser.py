"""The dashboard in a real browser: `aftersales dashboard` serves a small generated database,
headless Chromium (Debian's package, driven by Playwright) opens every page in both languages,
finds no error element, and saves a screenshot of each (path printed; keep them with
``DASHBOARD_SCREENSHOTS=DIR``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard import i18n as T
from dashboard.views import PAGES
from tests.test_dashboard_fixtures import dash_db  # noqa: F401  (fixture)

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
LANG_PARAM = {"zh": "中文", "en": "English"}
# Streamlit marks the app with the script's state; lazily loaded elements show skeletons first.
FINISHED_JS = """() => { const a = document.querySelector('[data-testid="stApp"]');
  return a !== null && a.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelectorAll('[data-testid="stSkeleton"]').length === 0; }"""

# every browser test file carries this mark (imported from here)
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at "
                                    "/usr/bin/chromium (scripts/setup.sh installs it with apt)")
pytestmark = needs_chromium


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(db: Path, log: Path, *args: str, port: int | None = None, env: dict | None = None):
    """``aftersales dashboard`` over ``db`` on ``port`` (a free one by default) until the block ends;
    yields its URL once Streamlit answers its health check (the test fails with the log if not)."""
    port = port or free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "aftersales.cli", "--db", str(db), "dashboard", "--port",
                                 str(port), *args], stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not start:\n{log.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the group this test started, by its id
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server(dash_db):  # noqa: F811
    port = free_port()
    with served(dash_db, dash_db.parent / f"server-{port}.log", port=port) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    keep = os.environ.get("DASHBOARD_SCREENSHOTS")
    out = Path(keep) if keep else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def settle(page) -> None:
    page.wait_for_function(FINISHED_JS, timeout=60_000)
    page.wait_for_timeout(250)  # a rerun the last run asked for (URL-bound widgets) starts right away
    page.wait_for_function(FINISHED_JS, timeout=60_000)


def open_page(page, url: str) -> None:
    page.goto(url)
    settle(page)


def test_every_page_in_both_languages(server, browser, shots):
    ctx = browser.new_context(viewport={"width": 1400, "height": 2200})
    page = ctx.new_page()
    seen = []
    for lang in ("zh", "en"):
        open_page(page, f"{server}/?lang={LANG_PARAM[lang]}")
        for name, title_key, _ in PAGES:
            if name != "overview":  # through the navigation, as a user would (same session)
                page.locator('[data-testid="stSidebarNav"] a').filter(has_text=T.t(title_key, lang)).first.click()
                page.wait_for_url(f"**/{name}*")
                settle(page)
            path = shots / f"{name}_{lang}.png"
            page.screenshot(path=str(path), full_page=True)
            errors = page.locator('[data-testid="stException"]').all_inner_texts()
            assert not errors, f"{name} ({lang}): {errors[0][:500]}"
            heading = page.locator('[data-testid="stMain"] h2').first.inner_text()
            assert heading.strip() == T.t(title_key, lang), (name, lang, heading)
            assert page.locator('[data-testid="stPlotlyChart"], [data-testid="stDataFrame"], '
                                '[data-testid="stMetric"]').count() > 0, (name, lang)
            seen.append(path)
    print(f"\nscreenshots: {shots}")
    assert len(seen) == 2 * len(PAGES)
    ctx.close()


def test_filters_go_into_the_url_and_come_back(server, browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = ctx.new_page()
    open_page(page, f"{server}/complaints?lang=English")
    page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
    page.get_by_role("option", name="East", exact=True).click()
    page.keyboard.press("Escape")
    page.wait_for_function("() => location.search.includes('region=East')", timeout=20_000)
    open_page(page, page.url)
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    fresh = browser.new_page()
    open_page(fresh, page.url)  # the copied link, in a new session
    assert fresh.locator('[data-testid="stMetricValue"]').all_inner_texts() == values
    assert "East" in fresh.locator('[data-testid="stSidebar"]').inner_text()
    fresh.close()
    ctx.close()

