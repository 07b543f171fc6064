"""The dashboard's entry point: ``streamlit run dashboard/app.py -- --db PATH [--config FILE]``
(what ``aftersales dashboard`` runs). Asks for sign-in when it is on (``dashboard.signin``), draws
the language switch and the global filters in the sidebar (bound to the URL) and hands over to
the page picked in the navigation."""

from __future__ import annotations

import sys

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from aftersales.principal import Principal
from dashboard import gates, signin, state, warm
from dashboard import i18n as T
from dashboard.views import PAGES


def data_warming() -> bool:
    """``aftersales dashboard`` asks for the cache warmer (``-- --warm``); tests do not."""
    return "--warm" in sys.argv[1:]


def navigation(lang: str, position: str = "sidebar", principal: Principal | None = None) -> StreamlitPage:
    """The pages, for the navigation (``hidden``: declared, not shown). A page the principal may
    not see (``views.NEEDS``) is hidden: its URL still reaches it, and the page shows its refusal
    (``dashboard.gates``) instead of its content."""
    pages = [st.Page(f"views/{name}.py", title=T.t(key, lang), icon=icon, url_path=name, default=(i == 0),
                     visibility="visible" if principal is None or gates.page_allowed(name, principal) else "hidden")
             for i, (name, key, icon) in enumerate(PAGES)]
    # The home page is served at "/"; its own name (/overview, in links and bookmarks) reaches
    # the same page through a hidden twin instead of Streamlit's "Page not found".
    home, key, icon = PAGES[0]
    pages[0] = st.Page(f"views/{home}.py", title=T.t(key, lang), icon=icon, url_path="home", default=True)
    pages.append(st.Page(f"views/{home}.py", title=T.t(key, lang), icon=icon, url_path=home,
                         visibility="hidden"))
    return st.navigation(pages, position=position)


def main() -> None:
    st.set_page_config(page_title=T.t("app_title", "zh"), page_icon=":material/build:", layout="wide")
    # Before anything else is drawn: with sign-in on, nobody sees a page (or the filters' values)
    # before signing in (issue 17). The pages are declared, hidden and not run, so that a link to
    # one (/sla?region=east) lands there once signed in instead of falling back to the home page.
    principal = signin.gate(keep_page=lambda lang: navigation(lang, position="hidden"))
    signin.account_box(principal)  # first in the sidebar: who is looking, and what they may see
    scope = state.sidebar()
    if data_warming():
        warm.start()
    nav = navigation(scope.lang, principal=principal)
    st.set_page_config(page_title=f"{nav.title} · {T.t('app_title', scope.lang)}")
    nav.run()


main()
