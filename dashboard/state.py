"""The global filters: drawn once in the sidebar by the app, bound to the URL (so a copied link
reproduces the view), read by every page through ``current()``."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import streamlit as st

from aftersales import model
from aftersales.principal import DataScope, Principal
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
    """What every page shows: a date range, a period grain and the ticket filters, and the
    signed-in user's data scope (``principal().scope``), which every read of ``dashboard.data``
    takes beside the filters."""

    start: dt.date
    end: dt.date
    grain: str
    where: data.Where
    lang: str
    ver: str
    data_end: dt.datetime | None  # the latest created_at: "now" for SLA and backlog
    data_scope: DataScope  # whose numbers: ANDed with ``where`` below the dashboard

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
    technicians (their names are the same in both languages). Names only (the whole company's
    master data, for labelling values a page already holds): the values a user may pick come
    from ``_options``, inside their scope."""
    d = R.DIMENSIONS[dim]
    if d.labels:  # with the codes the config adds
        return {code: T.code_label(dim, code, lang) or code for code in model.extended(d.labels) or {}}
    if ver == "missing":
        return {}
    df = data.dimension_values(ver, DataScope(), dim)
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


def _options(dim: str, scope: DataScope) -> list[str]:
    """The values a filter offers: those inside the data scope only."""
    d = R.DIMENSIONS[dim]
    if d.labels and (scope.whole_company or dim not in SCOPED_OPTIONS):
        return list(model.extended(d.labels) or {})
    return data.dimension_values(data.version(), scope, dim)["value"].to_list()


# Filters whose choices a data scope restricts (metrics.compute.SCOPED_DIMS among FILTER_DIMS).
SCOPED_OPTIONS = ("region", "outlet", "outlet_type")


def _outside(dim: str, opts: list[str], lang: str, ver: str) -> list[str]:
    """Values the URL names for ``dim`` that are not offered (outside the data scope): Streamlit
    drops them from the bound widget; they are named in a caption so the reader knows why."""
    try:
        asked = [str(v) for v in st.query_params.get_all(dim)]
    except Exception:  # noqa: BLE001 - no URL (a test's page run): nothing asked
        return []
    shown = set(opts) | {dim_value_label(dim, c, lang, ver) for c in opts}
    return [v for v in asked if v and v not in shown]


IGNORED_KEY = "_outside_scope"  # a link's filter values outside the data scope, said in the sidebar


def _clear() -> None:
    st.session_state.pop(IGNORED_KEY, None)
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
        access = principal().scope
        ignored: list[str] = []
        for dim in FILTER_DIMS:
            d = R.DIMENSIONS[dim]
            opts = _options(dim, access) if ver != "missing" else []
            ignored += _outside(dim, opts, lg, ver) if ver != "missing" else []
            chosen = st.multiselect(d.zh if lg == "zh" else d.en, opts,
                                    format_func=lambda c, dim=dim: dim_value_label(dim, c, lg, ver),
                                    placeholder=T.t("all", lg), key=dim, bind=BIND)
            # never honoured outside the scope, whatever the widget holds (the reads narrow too)
            chosen = list(data.in_scope(access, dim, tuple(chosen or ())))
            if chosen:
                where[dim] = chosen
        # said for the rest of the session: the widget drops the values from the URL on its next run
        ignored = st.session_state[IGNORED_KEY] = list(dict.fromkeys([*st.session_state.get(IGNORED_KEY, []),
                                                                      *ignored]))
        if ignored:
            st.caption(T.t("outside_scope_ignored", lg, values="、".join(ignored) if lg == "zh" else ", ".join(ignored)))
        st.button(T.t("reset_filters", lg), on_click=_clear, type="tertiary")
        st.caption(T.t("link_hint", lg))
    scope = Scope(start, end, grain or "month", data.where_tuple(where), lg, ver, rng[2] if rng else None, access)
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

    The scope reaches every read through ``Scope.data_scope`` (set by ``sidebar``): each function
    of ``dashboard.data`` takes it as a required argument and keys its caches by it, and the
    metrics below AND it with the sidebar's filters."""
    p = st.session_state.get("_principal")
    if p is None:  # not through the app's gate (a page run on its own): the gate decides now
        from dashboard import signin

        p = signin.gate()
    return p
