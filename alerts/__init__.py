"""Alerts: rules declared in the config, judged on the stored numbers, sent to WeCom, DingTalk,
Feishu/Lark robots and mail through Apprise, with their state and every send kept in DuckDB.

    settings  the [alerts] section: rules, targets, shipped defaults
    evaluate  one Observation per rule and key (KPIs, stored forecasts, the ledger, due tickets)
    due       tickets about to breach (即将超时), breached, stale
    state     the state file, and when an alert fires, repeats, worsens or resolves
    messages  the short message and its dashboard link
    channels  delivery (Apprise; our robot plugin), retries with back-off
    check     one check: judge, decide, send, store
"""
