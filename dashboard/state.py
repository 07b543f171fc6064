"""The global filters: drawn once in the sidebar by the app, bound to the URL (so a copied link
reproduces the view), read by every page through ``current()``."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import streamlit as st

from aftersales import model
from aftersales.principal import Principal
from dashboard import data
from dashboard import i18n as T
from metrics import periods
from metrics import registry as R

# The ticket breakdowns offered as global filters, in sidebar order (URL parameter = the id).
FILTER_DIMS = ("region", "outlet", "outlet_type", "channel", "service_type", "product_category")
GRAINS = ("week", "month", "quarter")
BIND = "query-params"


@dataclass(frozen=True)
class Scope:
    """What every page shows: a date range, a period grain and the ticket filters."""

    start: dt.date
    end: dt.date
    grain: str
    where: data.Where
    lang: str
    ver: str
    data_end: dt.datetime | None  # the latest created_at: "now" for SLA and backlog

    def label(self, dim: str, code: object) -> str:
        return dim_value_label(dim, code, self.lang, self.ver)


def widget_value(key: str, options: tuple[str, ...]) -> str:
    """The current value of a page's choice widget, read before the widget is drawn (to start
    its read early); its first option when not chosen yet or outside a script run (the warmer)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    value = st.session_state.get(key) if get_script_run_ctx(suppress_warning=True) is not None else None
    return value if value in options else options[0]


# What ``?lang=`` may say: the codes (zh, en) and, for links made before, the language names.
LANG_ALIASES = {"zh": "zh", "en": "en", "中文": "zh", "english": "en", "chinese": "zh", "zh-cn": "zh", "zh_cn": "zh",
                "en-us": "en", "en-gb": "en"}


def url_lang(default: str) -> str:
    """The language the URL asks for (``lang=zh|en``, or the older ``lang=English`` / ``中文``)."""
    raw = st.query_params.get("lang")
    return LANG_ALIASES.get(str(raw).strip().lower(), default) if raw else default


def lang() -> str:
    value = st.session_state.get("lang")
    return value if value in T.LANGS else data.settings().language


def default_range(last: dt.date) -> tuple[dt.date, dt.date]:
    """The twelve whole months up to the data's last day."""
    start = periods.shift(periods.trunc(last, "month"), "month", -11)
    return start, last


@functools.lru_cache(maxsize=64)
def labels(ver: str, dim: str, lang: str) -> dict[str, str]:
    """code -> label for a breakdown: 华东 / East; ``WD0001 上海城区服务中心`` for outlets and
    technicians (their names are the same in both languages)."""
    d = R.DIMENSIONS[dim]
    if d.labels:  # with the codes the config adds
        return {code: T.code_label(dim, code, lang) or code for code in model.extended(d.labels) or {}}
    if ver == "missing":
        return {}
    df = data.dimension_values(ver, dim)
    return {v: (f"{v} {name}" if name and name != v else v) for v, name in zip(
        df["value"].to_list(), df["label"].to_list(), strict=True)}


def dim_value_label(dim: str, code: object, lang: str, ver: str | None = None) -> str:
    if code is None:  # say what is missing and why, not just that it is
        return T.t(UNSPECIFIED.get(dim, "unspecified_value"), lang)
    if dim in R.DIMENSIONS:
        return labels(ver or data.version(), dim, lang).get(str(code), str(code))
    return T.code_label(dim, code, lang)


# A ticket without a value for a breakdown: outlet, technician, region and outlet type come with
# dispatch, so a ticket not yet dispatched has none.
UNSPECIFIED = {"outlet": "unspecified_dispatch", "technician": "unspecified_dispatch", "region": "unspecified_dispatch",
               "outlet_type": "unspecified_dispatch", "complaint_reason": "no_reason",
               "warranty": "unspecified_warranty"}  # refunds and consultations have none


def _options(dim: str) -> list[str]:
    d = R.DIMENSIONS[dim]
    if d.labels:
        return list(model.extended(d.labels) or {})
    return data.dimension_values(data.version(), dim)["value"].to_list()


def _clear() -> None:
    for dim in FILTER_DIMS:
        st.session_state[dim] = []
    st.session_state.pop("dates", None)


def sidebar() -> Scope:
    """Draw the language switch and the filters; return the scope they define."""
    ver = data.version()
    default_lang = data.settings().language
    with st.sidebar:
        if st.session_state.get("lang") not in T.LANGS:  # a new session: the URL's language, else the config's
            st.session_state["lang"] = url_lang(default_lang)
        lg = st.radio(T.t("language", default_lang), T.LANGS, format_func=T.LANG_NAMES.get, horizontal=True,
                      key="lang")
        lg = lg if lg in T.LANGS else default_lang
        st.query_params["lang"] = lg  # a copied link keeps the language, as a code (lang=zh|en)
        st.subheader(T.t("filters", lg))
        rng = data.data_range(ver) if ver != "missing" else None
        last = rng[1] if rng else dt.date.today()
        first = rng[0] if rng else last
        d0, d1 = default_range(last)
        d0 = max(d0, first)
        picked = st.date_input(T.t("date_range", lg), value=(d0, d1), min_value=first, max_value=last,
                               format="YYYY-MM-DD", key="dates", bind=BIND)
        start, end = _range(picked, d0, d1)
        grain = st.selectbox(T.t("grain", lg), GRAINS, index=GRAINS.index("month"),
                             format_func=lambda g: T.t(f"grain_{g}", lg), key="grain", bind=BIND)
        where: dict[str, list[str]] = {}
        for dim in FILTER_DIMS:
            d = R.DIMENSIONS[dim]
            opts = _options(dim) if ver != "missing" else []
            chosen = st.multiselect(d.zh if lg == "zh" else d.en, opts,
                                    format_func=lambda c, dim=dim: dim_value_label(dim, c, lg, ver),
                                    placeholder=T.t("all", lg), key=dim, bind=BIND)
            if chosen:
                where[dim] = list(chosen)
        st.button(T.t("reset_filters", lg), on_click=_clear, type="tertiary")
        st.caption(T.t("link_hint", lg))
    scope = Scope(start, end, grain or "month", data.where_tuple(where), lg, ver, rng[2] if rng else None)
    st.session_state["_scope"] = scope
    return scope


def _range(picked: object, d0: dt.date, d1: dt.date) -> tuple[dt.date, dt.date]:
    # While a range is being picked the widget holds one date; keep the default end meanwhile.
    if isinstance(picked, (tuple, list)):
        if len(picked) == 2 and picked[0] and picked[1]:
            return min(picked), max(picked)
        if len(picked) == 1 and picked[0]:
            return picked[0], max(picked[0], d1)
        return d0, d1
    if isinstance(picked, dt.date):
        return picked, picked
    return d0, d1


def current() -> Scope:
    """The scope the sidebar set on this run (pages call this)."""
    scope = st.session_state.get("_scope")
    if scope is None:  # a page run on its own (tests): sign-in and the sidebar first
        principal()
        scope = sidebar()
    return scope


def principal() -> Principal:
    """Who is looking (issue 17): the signed-in user's role, data scope (regions, outlets, outlet
    types) and permissions (unmask, download, forecasts, alerts), set by ``dashboard.signin.gate``
    on every run; with sign-in off, the whole company (``aftersales.principal.local_principal``).

    Not yet applied to what pages read: the second half of issue 17 passes ``principal().scope``
    into every read function of ``dashboard.data`` as a required argument (and into its cache
    keys), ANDed with the sidebar's filters (``DataScope.narrow``), and checks ``can("unmask")``,
    ``can("download")``, ``can("forecasts")`` and ``can("alerts")`` where pages unmask, offer a
    download, show forecasts and edit alert rules."""
    p = st.session_state.get("_principal")
    if p is None:  # not through the app's gate (a page run on its own): the gate decides now
        from dashboard import signin

        p = signin.gate()
    return p
