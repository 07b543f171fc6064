"""The dashboard's permission gates (issue 17): which pages a principal sees, and the refusal a
page shows in their language when reached by its URL without the permission. The functions that
export or unmask check again below the pages (``aftersales.permits``)."""

from __future__ import annotations

import streamlit as st

from aftersales import permits
from aftersales.principal import Principal
from dashboard.views import NEEDS


def page_allowed(name: str, principal: Principal) -> bool:
    need = NEEDS.get(name)
    return need is None or permits.allowed(principal, need)


def refuse(permission: str, lang: str) -> None:
    """The refusal, in place of a page's content."""
    st.error(str(permits.Refused(permission, lang)), icon=":material/lock:")


def page_or_refusal(name: str, principal: Principal, lang: str) -> bool:
    """True when the page may render; else its refusal is shown (a URL reaching a hidden page)."""
    need = NEEDS.get(name)
    if need is None or permits.allowed(principal, need):
        return True
    refuse(need, lang)
    return False
