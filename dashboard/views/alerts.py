"""Alerts (告警): what is firing now, the history of events and sends, and every rule with its last
values. The numbers come from the alert state file that `aftersales alerts check` writes."""

from __future__ import annotations

import polars as pl
import streamlit as st

from aftersales import permits
from dashboard import data, gates, state, ui
from dashboard import i18n as T

SHOWN = {"firing": ["rule_id", "key", "value", "compared_kind", "compared", "sample", "period", "started_at",
                    "last_sent_at"],
         "history": ["event_at", "kind", "rule_id", "key", "title", "value", "sample", "sends"],
         "last_values": ["rule_id", "key", "firing", "judged", "value", "compared_kind", "compared", "sample", "period",
                         "note", "checked_at"]}


def _labelled(df: pl.DataFrame, scope: state.Scope) -> pl.DataFrame:
    from alerts import board

    lang, config = scope.lang, data.settings().config
    if "key" in df.columns and "rule_id" in df.columns and not df.is_empty():
        # an alert's subject as the other pages show it: 华东, WD0001 上海城区服务中心, and the tickets
        # without an outlet by what they are rather than an empty cell; "*" is a digest of several
        dims = board.key_dims(config)
        keys = [T.t("alerts_several", lang) if k == "*" else
                scope.label(dims[r], k or None) if r in dims else k
                for r, k in zip(df["rule_id"].to_list(), df["key"].to_list(), strict=True)]
        df = df.with_columns(pl.Series("key", keys, dtype=pl.String))
    df = board.localized(df, config, lang)
    return df.rename({c: T.t(f"alert_col_{c}", lang) for c in df.columns})


def manage(scope: state.Scope, firing: pl.DataFrame, principal: object) -> None:
    """Mute a firing alert for some hours, lift a mute (``alerts.manage``, which refuses anyone
    without the ``alerts`` permission below this page too)."""
    from alerts import board, check
    from alerts import manage as M

    lang, settings = scope.lang, data.settings()
    now = check.local_now(settings.config)
    with st.expander(T.t("alerts_manage", lang)):
        if not firing.is_empty():
            titles, dims = board.rule_titles(settings.config, lang), board.key_dims(settings.config)
            pairs = list(zip(firing["rule_id"].to_list(), firing["key"].to_list(), strict=True))

            def label(i: int) -> str:
                r, k = pairs[i]
                return f"{titles.get(r, r)} · {scope.label(dims[r], k or None) if r in dims else k or '—'}"

            c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
            picked = c1.selectbox(T.t("alerts_pick", lang), range(len(pairs)), format_func=label, key="alerts_pick")
            hours = c2.number_input(T.t("alerts_hours", lang), 1, M.MAX_HOURS, 24, key="alerts_hours")
            if c3.button(T.t("alerts_mute", lang), key="alerts_mute") and picked is not None:
                until = M.mute(settings.db, principal, *pairs[picked], float(hours), now, lang)
                st.success(T.t("alerts_muted", lang, t=T.date(until, lang)))
        mutes = M.mutes(settings.db, now)
        if not mutes.is_empty():
            st.caption(T.t("alerts_mutes", lang))
            st.dataframe(_labelled(mutes, scope), hide_index=True, key="alerts_mutes")
            keys = list(zip(mutes["rule_id"].to_list(), mutes["key"].to_list(), strict=True))
            c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
            gone = c1.selectbox(T.t("alerts_pick", lang), range(len(keys)), key="alerts_unpick",
                                format_func=lambda i: f"{keys[i][0]} · {keys[i][1] or '—'}")
            if c2.button(T.t("alerts_unmute", lang), key="alerts_unmute") and gone is not None:
                M.unmute(settings.db, principal, *keys[gone], lang)
                st.success(T.t("alerts_unmuted", lang))


def prefetch(scope: state.Scope, stage: str = "first") -> None:
    """What the page shows on opening, for the warmer: the alert state file's tables."""
    if stage == "first":
        aver = data.alerts_version()
        for name in ("firing", "last_values"):
            data.alerts_frame(aver, name)


def render() -> None:
    scope = state.current()
    lang = scope.lang
    ui.header("page_alerts", scope)
    if not gates.page_or_refusal("alerts", state.principal(), lang):  # issue 17: whole-company data
        return
    aver = data.alerts_version()
    if aver == "none":
        st.info(T.t("alerts_no_check", lang))
    firing = data.alerts_frame(aver, "firing")
    last = data.alerts_frame(aver, "last_values")
    if not last.is_empty():
        st.caption(T.t("alerts_checked", lang, t=T.date(last["checked_at"].max(), lang)))
    st.subheader(T.t("alerts_firing", lang))
    if firing.is_empty():
        st.success(T.t("alerts_none_firing", lang))
    else:
        ui.table(_labelled(firing.select(SHOWN["firing"]), scope), key="alerts_firing", lang=lang, name="alerts_firing",
                 selectable=False)
    principal = state.principal()
    if permits.allowed(principal, "alerts"):  # issue 17: managing alerts needs the permission
        manage(scope, firing, principal)
    else:
        st.caption(T.t("alerts_read_only", lang))
    st.subheader(T.t("alerts_history", lang))
    hist = data.alerts_frame(aver, "history")
    if not hist.is_empty():
        ui.table(_labelled(hist.select(SHOWN["history"]), scope), key="alerts_history", lang=lang,
                 name="alerts_history", selectable=False, height=320)
    st.subheader(T.t("alerts_rules", lang))
    rules = data.alerts_rules(scope.ver, lang)
    ui.table(_labelled(rules, scope), key="alerts_rules", lang=lang, name="alert_rules", selectable=False)
    if not last.is_empty():
        ui.table(_labelled(last.select(SHOWN["last_values"]), scope), key="alerts_last", lang=lang,
                 name="alerts_last_values", selectable=False, height=320)


if __name__ == "__main__":
    ui.handle(render, state.current())
