"""Chinese first: every dashboard page and each of its sections, and the report in every format,
read in zh show no English words beyond codes, units and the allow-list in ``tests/zh_text.py``,
and never None / nan / null / NaT. Pages are discovered from ``dashboard.views.PAGES`` and
sections from the tabs each page draws, so pages added later are walked too.

Plus the pieces the walk cannot see: ``?lang=zh|en`` (and the older ``lang=English``), the
served toolbar in viewer mode, ``/overview`` reachable by name, downloads formatted like the
report's workbook, durations in days past 48 hours, whole technicians.
"""

from __future__ import annotations

import html as htmllib
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import i18n as T
from dashboard.views import PAGES
from tests import zh_text
from tests.test_dashboard import use_db  # noqa: F401  (fixture)
from tests.test_dashboard_browser import browser, server  # noqa: F401  (fixtures)
from tests.test_dashboard_fixtures import dash_db  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")


def run_page(page: str, lang: str = "zh", tab: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    if tab:
        at.query_params["tab"] = tab
    at.run()
    if page != PAGES[0][0]:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_texts(at: AppTest, where: str) -> list[tuple[str, str]]:
    # The language switch names each language in itself (中文 / English): the one place English belongs.
    switch = {T.t("language", "zh"), *T.LANG_NAMES.values()}
    return [(w, s) for w, s in zh_text.apptest_texts(at, where) if not (" Radio." in w and s in switch)]


# -- the checker itself ------------------------------------------------------------------------------


def test_checker_finds_english_and_missing_values_and_lets_codes_pass():
    assert zh_text.leaks("排序方法 shrunk") == ["shrunk"]
    assert set(zh_text.leaks("Prophet is best")) == {"is", "best"}
    assert "None" in zh_text.leaks("原因 None") and "nan" in zh_text.leaks("nan") and "NaT" in zh_text.leaks("NaT")
    assert "null" in zh_text.leaks("值为 null")
    assert zh_text.leaks("账龄 0–1d") == ["1d"] and zh_text.leaks("+1.2pp") == ["1.2pp"]
    for fine in ("WD0001 上海城区服务中心", "KFR-35GW 空调", "BX-10150 压缩机-A型", "SLA达成率(首次响应)", "净推荐值 NPS",
                 "2026年第44周", "运行 `aftersales forecast all` 后刷新", "数据库文件 /tmp/x/a.duckdb", "下载 CSV"):
        assert zh_text.leaks(fine) == [], fine


# -- every page, every section, in zh ----------------------------------------------------------------


@pytest.mark.parametrize("page", [p[0] for p in PAGES])
def test_every_page_and_section_reads_in_chinese(dash_db, use_db, page):  # noqa: F811
    use_db(dash_db)
    at = run_page(page)
    texts = shown_texts(at, page)
    tabs = [t.label for t in at.tabs]
    texts += [(f"{page} section tab", tab) for tab in tabs]  # the tab labels themselves (保内 vs 保外 was one)
    for tab in tabs[1:]:  # the first section is open on arrival
        texts += shown_texts(run_page(page, tab=tab), f"{page}/{tab}")
    assert len(texts) > 20, texts  # the walk did see the page
    bad = zh_text.check(texts)
    assert not bad, "\n".join(bad[:40])


def test_walk_fails_on_a_leak(dash_db, use_db, monkeypatch):  # noqa: F811
    """The walk is not blind: an English label slipped into a page is caught."""
    use_db(dash_db)
    monkeypatch.setitem(T.WORDS, "headline", ("Headline KPIs", "Headline KPIs"))
    bad = zh_text.check(shown_texts(run_page(PAGES[0][0]), "overview"))
    assert any("Headline" in line for line in bad), bad


# -- the language in the URL ---------------------------------------------------------------------------


@pytest.mark.parametrize(("param", "lang"), [("zh", "zh"), ("en", "en"), ("English", "en"), ("中文", "zh"),
                                             ("EN", "en")])
def test_url_language_codes_and_the_older_names(dash_db, use_db, param, lang):  # noqa: F811
    use_db(dash_db)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = param
    at.run()
    assert not at.exception
    assert at.header[0].value == T.t(PAGES[0][1], lang)
    assert at.query_params["lang"] in (lang, [lang])  # a copied link carries the code


def test_dashboard_is_served_in_viewer_mode():
    import argparse

    from dashboard.cli import command

    cmd = command(argparse.Namespace(db="x.duckdb", port=8501, host="127.0.0.1", no_warm=True, config=None))
    assert cmd[cmd.index("--client.toolbarMode") + 1] == "viewer"


# -- formats a reader needs -------------------------------------------------------------------------------


def test_durations_past_48_hours_are_days_and_people_are_whole():
    assert T.duration(36.5, "zh") == "36.5小时"
    assert T.duration(23318.3, "zh") == "972天"  # a ticket two and a half years overdue
    assert T.duration(23318.3, "en") == "972 d"
    assert T.model_label("prophet", "zh") != "prophet" and "zero" not in T.model_label("zero", "zh")
    assert zh_text.leaks(T.model_label("combo", "zh")) == []


def test_dashboard_excel_download_is_formatted_like_the_report():
    from dashboard.ui import _csv_bytes, _xlsx_bytes

    lang = "zh"
    frame = pl.DataFrame({
        T.column_label("kpi", lang): ["投诉率", "平均维修时长"],
        T.column_label("value", lang): [0.02531645569620253, 36.5],
        T.column_label("overdue_hours", lang): [12.0, 23318.3],
        T.column_label("order_now", lang): [False, True],
    })
    book = _xlsx_bytes(frame, lang)
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        styles = z.read("xl/styles.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "0.00%" in styles  # the complaint rate in the report's format (.2%), not 0.025
    assert "小时" in htmllib.unescape(styles)  # hours carry their unit
    assert ">是<" in strings and ">否<" in strings and "false" not in strings.lower()
    assert "<v>0.02531645569620253</v>" in sheet  # still the number, summable
    csv = _csv_bytes(frame, lang).decode("utf-8-sig")
    first, header, row = csv.splitlines()[:3]
    assert first.startswith("# ") and "原始数值" in first  # the CSV says its values are raw
    assert "0.02531645569620253" in row and "false" in row


# -- the report in zh ----------------------------------------------------------------------------------


def report_texts(out: Path) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for p in sorted(out.iterdir()):
        if p.suffix == ".html":
            body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", p.read_text(), flags=re.S)
            texts += [(p.name, htmllib.unescape(t)) for t in re.split(r"<[^>]+>", body) if t.strip()]
        elif p.suffix == ".xlsx":
            import fastexcel

            book = fastexcel.read_excel(str(p))
            for name in book.sheet_names:
                texts.append((f"{p.name} sheet", name))
                df = book.load_sheet_by_name(name, header_row=None).to_polars()
                codes = set()  # columns of codes a reader joins on ("指标代码", "网点 代码")
                for col in df.columns:
                    vals = [v for v in df[col].cast(pl.String).to_list() if v is not None]
                    if any(str(v).endswith("代码") for v in vals[:4]):
                        codes.add(col)
                    if col not in codes:
                        texts += [(f"{p.name}:{name}[{col}]", v) for v in vals]
        elif p.suffix == ".pdf":
            text = subprocess.run(["pdftotext", "-layout", str(p), "-"], capture_output=True, text=True,
                                  check=True).stdout
            texts += [(f"{p.name}:{i}", line) for i, line in enumerate(text.splitlines())]
        elif p.suffix == ".csv":
            # the CSV is the machine's copy (codes, raw values): only missing values may not leak
            for i, line in enumerate(p.read_text(encoding="utf-8-sig").splitlines()):
                texts += [(f"{p.name}:{i}", m) for m in re.findall(r"(?<![A-Za-z])(?:None|nan|NaN|null|NaT)(?![A-Za-z])",
                                                                    line)]
    return texts


def make_report(db: Path, out: Path, formats: str, period: str) -> None:
    from aftersales.cli import main

    assert main(["--db", str(db), "report", "--period", period, "--lang", "zh", "--format", formats,
                 "--out", str(out)]) == 0


@pytest.fixture(scope="module")
def report_period(dash_db) -> str:  # noqa: F811
    import duckdb

    with duckdb.connect(str(dash_db), read_only=True) as con:
        last = con.execute("SELECT max(created_at)::DATE FROM tickets").fetchall()[0][0]
    month = last.replace(day=1)
    prev = (month - __import__("datetime").timedelta(days=1)).replace(day=1)
    return f"{prev:%Y-%m}"


def test_report_reads_in_chinese(dash_db, report_period, tmp_path):  # noqa: F811
    make_report(dash_db, tmp_path, "html,xlsx,csv", report_period)
    texts = report_texts(tmp_path)
    assert len(texts) > 100
    bad = zh_text.check(texts)
    assert not bad, "\n".join(bad[:40])
    page = (next(tmp_path.glob("*.html"))).read_text()
    shown = " ".join(t for where, t in texts if where.endswith(".html"))
    assert "个百分点" in shown and not re.search(r"\dpp\b", shown) and "n = " not in shown
    # a target carries its unit (目标 48.0 小时, not 目标 48.0)
    assert re.search(r'data-field="target"[^>]*>[^<]+</span><span class="unit">小时', page)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None or not Path("/usr/bin/chromium").exists(),
                    reason="needs chromium (PDF) and poppler-utils (pdftotext)")
def test_report_pdf_reads_in_chinese(dash_db, report_period, tmp_path):  # noqa: F811
    make_report(dash_db, tmp_path, "pdf", report_period)
    bad = zh_text.check(report_texts(tmp_path))
    assert not bad, "\n".join(bad[:40])


# -- in a real browser: what Streamlit itself draws around the pages ------------------------------------

needs_chromium = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not "
                                    "installed at /usr/bin/chromium (scripts/setup.sh installs it with apt)")


# The text a reader sees: text nodes of visible elements, without icon ligatures (material icon
# names are text in the DOM, drawn as pictures) and off-screen helpers (the skip link).
VISIBLE_TEXT_JS = """() => { const out = [];
  const walker = document.createTreeWalker(document.querySelector('[data-testid="stApp"]'), NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const el = node.parentElement;
    if (!el || el.closest('[data-testid="stIconMaterial"]')) continue;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;
    const text = node.textContent.trim();
    // a command or path in backticks renders as <code>: what the reader types, as the checker takes it
    if (text) out.push(el.closest('code') ? '`' + text + '`' : text);
  }
  return out; }"""


@pytest.mark.slow
@needs_chromium
def test_browser_every_page_in_chinese_viewer_mode_and_links_by_name(server, browser):  # noqa: F811
    from tests.test_dashboard_browser import open_page, settle

    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    open_page(page, f"{server}/overview?lang=en")  # the home page by its own name, the language as a code
    body = page.locator('[data-testid="stApp"]').inner_text()
    assert "Page not found" not in body and "not found" not in body.lower()
    assert page.locator('[data-testid="stMain"] h2').first.inner_text().strip() == T.t(PAGES[0][1], "en")
    # viewer mode: no Deploy button, no developer menu
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    menu = page.locator('[data-testid="stMainMenu"]')
    if menu.count():
        menu.first.click()
        items = page.locator('[data-testid="stMainMenuPopover"]').inner_text().lower()
        page.keyboard.press("Escape")
        assert "clear cache" not in items and "rerun" not in items and "developer" not in items, items
    open_page(page, f"{server}/?lang=zh")
    texts = []
    switch = {T.t("language", "zh"), *T.LANG_NAMES.values()}
    for name, title_key, _ in PAGES:
        if name != PAGES[0][0]:
            page.locator('[data-testid="stSidebarNav"] a').filter(has_text=T.t(title_key, "zh")).first.click()
            page.wait_for_url(f"**/{name}*")
            settle(page)
        for chunk in page.evaluate(VISIBLE_TEXT_JS):
            if chunk not in switch:
                texts.append((name, chunk))
    page.close()
    bad = zh_text.check(texts)
    assert not bad, "\n".join(bad[:40])


def test_quarantine_reasons_are_said_in_chinese():
    from aftersales.i18n import ZH_CODES

    for rule in ZH_CODES["rule"]:
        text = T.quarantine_message(rule, "channel", "channel: unknown value; expected one of tmall, jd", "zh")
        assert text.startswith("渠道") and zh_text.leaks(text) == [], (rule, text)
    assert T.quarantine_message("type", "created_at", "created_at: cannot be read", "en") == "created_at: cannot be read"
