"""The sign-in gate: nobody sees a page before signing in, when sign-in is on.

Three modes (``mode``):
- ``password``: a users file exists (``aftersales users add``): the sign-in form comes before any
  page; a signed-in session ends when it expires, idles, or its account is changed or disabled.
- ``open``: no users file (or ``--no-auth`` given to ``aftersales dashboard``): today's
  dashboard, as long as it is served on this machine only (127.0.0.1) or ``--no-auth`` says so.
- ``refuse``: no users file and the server listens on another address: nothing is shown.

Each run puts the signed-in user's ``Principal`` (role, data scope, permissions) in the session,
where ``dashboard.state.principal()`` hands it to pages. Sign-ins, failures, lock-outs, sign-outs
and ended sessions go to the audit trail (``aftersales.audit``); a sign-in that cannot be audited
is refused.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from zoneinfo import ZoneInfo

import streamlit as st

from aftersales import audit, auth, sso
from aftersales.principal import Principal, local_principal
from dashboard import data

SESSION_KEY = "_auth_session"
PRINCIPAL_KEY = "_principal"
NOTICE_KEY = "_auth_notice"
NO_AUTH_FLAG = "--no-auth"

# key -> (中文, English)
WORDS: dict[str, tuple[str, str]] = {
    "signin_title": ("登录", "Sign in"),
    "signin_intro": ("请使用总部分配的账号登录售后服务分析看板。", "Sign in with the account head office gave you."),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "submit": ("登录", "Sign in"),
    "bad_credentials": ("用户名或密码错误。", "Wrong user name or password."),
    "locked": ("登录失败次数过多，账号已锁定，请于 {until} 后再试。",
               "Too many failed sign-ins: the account is locked until {until}."),
    "disabled": ("该账号已停用，请联系总部管理员。", "This account is disabled; ask head office."),
    "expired": ("登录已过期，请重新登录。", "Your session has expired; sign in again."),
    "idle": ("长时间未操作，已自动退出，请重新登录。", "Signed out after a time without use; sign in again."),
    "revoked": ("账号信息已变更，请重新登录。", "Your account was changed; sign in again."),
    "signed_out": ("已退出登录。", "Signed out."),
    "audit_failed": ("无法写入审计记录，暂时不能登录，请联系管理员。",
                     "The sign-in could not be recorded in the audit trail; ask the administrator."),
    "no_accounts": ("尚无可用账号：请管理员用 aftersales users add 添加账号。",
                    "No account can sign in yet: the administrator adds one with aftersales users add."),
    "refused": ("未启用登录时，看板只在本机（127.0.0.1）提供。请先用 aftersales users add 添加账号，"
                "或在确需时以 aftersales dashboard --no-auth 启动。",
                "Without sign-in the dashboard is served on this machine (127.0.0.1) only. Add an account with "
                "aftersales users add, or start it with aftersales dashboard --no-auth if you really mean it."),
    "signed_in_as": ("当前用户：{name}（{role}）", "Signed in: {name} ({role})"),
    "scope_all": ("数据范围：全公司", "Data scope: whole company"),
    "scope_some": ("数据范围：{parts}", "Data scope: {parts}"),
    "sign_out": ("退出登录", "Sign out"),
    "sso": ("使用企业账号登录", "Sign in with the company account"),
    "no_role": ("企业账号未分配看板角色或数据范围，请联系总部管理员。",
                "Your company account has no dashboard role or data scope yet; ask head office."),
    "or": ("或使用本地账号：", "or with a local account:"),
    "setup_error": ("登录设置有误，暂不能登录，请管理员修正：{detail}",
                    "Sign-in is misconfigured; ask the administrator to fix it: {detail}"),
}
_DIM_WORDS = {"regions": ("区域", "Regions"), "outlets": ("网点", "Outlets"), "outlet_types": ("网点类型", "Outlet types")}


def w(key: str, lang: str, **kwargs: object) -> str:
    zh, en = WORDS[key]
    return (zh if lang == "zh" else en).format(**kwargs)


def mode(users_file_exists: bool, address: str | None, no_auth: bool, served: bool = True) -> str:
    """password | open | refuse (see the module docstring). ``served``: a real server listens
    (Streamlit's AppTest runs the script with no server, so no address to guard)."""
    if no_auth:
        return "open"
    if users_file_exists:
        return "password"
    return "open" if not served or auth.is_loopback(address) else "refuse"


def _served() -> bool:
    # AppTest stands a mock in for the runtime; a real `streamlit run` has Streamlit's Runtime.
    from streamlit import runtime

    return runtime.exists() and type(runtime.get_instance()).__name__ == "Runtime"


def _client() -> str | None:
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 - an address is nice to have in the audit, never required
        return None
    return ip if isinstance(ip, str) else None


def _lang() -> str:
    from dashboard import state

    lang = st.session_state.get("lang")
    return lang if lang in ("zh", "en") else state.url_lang(data.settings().language)


def _settings() -> tuple[auth.Policy, object, str]:
    s = data.settings()
    return auth.Policy.from_config(s.config), auth.users_path(s.db, s.config), str(s.config.get("timezone") or
                                                                                     "Asia/Shanghai")


def _oidc() -> dict | None:
    s = data.settings()
    return sso.oidc_settings(s.config, s.db)


def gate(keep_page: Callable[[str], object] | None = None) -> Principal:
    """The principal of this session; when nobody is signed in (and sign-in is on), draws the
    sign-in form and stops the run: no page below it is drawn. ``keep_page(lang)``, called
    before the form, lets the app declare its pages (hidden) so that the URL's page is kept.
    A users file or ``[auth]`` settings that cannot be read show nothing but what is wrong."""
    try:
        return _gate(keep_page)
    except auth.UserError as exc:  # not a refused sign-in (those are handled inside): the setup is broken
        st.error(w("setup_error", _lang(), detail=str(exc)))
        st.stop()
        raise AssertionError("not reached") from None


def _gate(keep_page: Callable[[str], object] | None) -> Principal:
    policy, users_file, _ = _settings()
    oidc = _oidc()
    m = mode(users_file.exists() or oidc is not None, st.get_option("server.address"), NO_AUTH_FLAG in sys.argv[1:],
             _served())
    if m == "refuse":
        st.error(w("refused", _lang()))
        st.stop()
    if m == "open":
        p = local_principal()
        st.session_state[PRINCIPAL_KEY] = p
        return p
    enabled = auth.enabled_count(users_file)  # a broken users file is said before anything is drawn
    if oidc is not None and st.user.is_logged_in:
        return _oidc_principal(oidc)
    session = st.session_state.get(SESSION_KEY)
    if isinstance(session, auth.Session):
        now = dt.datetime.now(dt.UTC)
        try:
            p = auth.resume(users_file, session, policy, now)
        except auth.AuthError as exc:
            _end(session, exc.reason)
        else:
            st.session_state[SESSION_KEY] = session.touched(now)
            st.session_state[PRINCIPAL_KEY] = p
            return p
    st.session_state.pop(PRINCIPAL_KEY, None)
    if keep_page is not None:
        keep_page(_lang())
    _form(users_file, policy, oidc, enabled)
    st.stop()
    raise AssertionError("not reached")  # st.stop() ends the run


def _end(session: auth.Session, reason: str) -> None:
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(PRINCIPAL_KEY, None)
    st.session_state[NOTICE_KEY] = reason
    # the session ends whether or not this is recorded
    _audit("session_ended" if reason != "signed_out" else "sign_out", session.username,
           reason=reason if reason != "signed_out" else None)


def sign_out() -> None:
    session = st.session_state.get(SESSION_KEY)
    if isinstance(session, auth.Session):
        _end(session, "signed_out")


def _oidc_principal(oidc: dict) -> Principal:
    """The identity provider's user, once per session audited; a user whose claims give no role
    is shown why and may sign out (of Streamlit's identity cookie) to try another account."""
    claims = st.user.to_dict()
    try:
        p = sso.principal_from_claims(claims, oidc)
    except auth.AuthError as exc:
        if not st.session_state.get("_oidc_refused"):
            st.session_state["_oidc_refused"] = True
            _audit("sign_in_failed", str(claims.get("sub") or ""), reason=exc.reason, method="oidc")
        st.error(w("no_role", _lang()))
        st.button(w("sign_out", _lang()), on_click=st.logout, key="oidc_sign_out")
        st.stop()
    if st.session_state.get("_oidc_audited") != p.username:
        if not _audit("sign_in", p.username, role=p.role, method="oidc"):
            st.error(w("audit_failed", _lang()))
            st.stop()
        st.session_state["_oidc_audited"] = p.username
    st.session_state[PRINCIPAL_KEY] = p
    return p


def _audit(kind: str, username: str, **kw: object) -> bool:
    try:
        audit.record(data.settings().db, kind, username, client=_client(), **kw)
    except Exception:  # noqa: BLE001 - the caller decides what an unrecorded event means
        return False
    return True


def _form(users_file, policy: auth.Policy, oidc: dict | None, enabled: int) -> None:
    with st.columns([1, 2, 1])[1]:  # a narrow form in the middle of the wide layout
        _form_body(users_file, policy, oidc, enabled)


def _form_body(users_file, policy: auth.Policy, oidc: dict | None, enabled: int) -> None:
    lang = _lang()
    _, _, tz = _settings()
    st.header(w("signin_title", lang))
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(w(notice, lang))
    if oidc is not None:
        st.button(str(oidc.get("label") or w("sso", lang)), type="primary", key="sso",
                  on_click=st.login, args=(oidc.get("provider") or None,))
        if not users_file.exists():
            return
        st.caption(w("or", lang))
    elif enabled == 0:
        st.warning(w("no_accounts", lang))
    st.caption(w("signin_intro", lang))
    # cleared on submit: the password does not stay in the session's widget state
    with st.form("signin", enter_to_submit=True, clear_on_submit=True):
        username = st.text_input(w("username", lang), key="signin_username")
        password = st.text_input(w("password", lang), type="password", key="signin_password")
        submitted = st.form_submit_button(w("submit", lang), type="primary")
    st.session_state.pop("signin_password", None)  # kept by the server until the next run otherwise
    if not submitted:
        return
    try:
        attempt = auth.sign_in(users_file, username, password, policy)
    except auth.AuthError as exc:
        _audit("locked_out" if exc.locked_now else "sign_in_failed", username, reason=exc.reason)  # refused anyway
        until = exc.until.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if exc.until else ""
        st.error(w(exc.reason, lang, until=until))
        return
    p = attempt.principal
    if not _audit("sign_in", p.username, role=p.role, method=p.method):  # an unaudited sign-in is refused
        st.error(w("audit_failed", lang))
        return
    st.session_state[SESSION_KEY] = attempt.session
    st.session_state[PRINCIPAL_KEY] = p
    st.rerun()


def account_box(p: Principal) -> None:
    """Who is signed in, their data scope, and the sign-out button (in the sidebar)."""
    if p.method == "none":
        return
    lang = _lang()
    from dashboard import i18n as T

    with st.sidebar:
        st.caption(w("signed_in_as", lang, name=p.display_name, role=p.role_label(lang)))
        if p.scope.whole_company:
            st.caption(w("scope_all", lang))
        else:
            parts = "；".join(
                f"{_DIM_WORDS[part][0 if lang == 'zh' else 1]} " + "、".join(
                    T.code_label(dim, c, lang) if dim != "outlet" else c for c in getattr(p.scope, part))
                for part, dim in p.scope.DIMS.items() if getattr(p.scope, part))
            st.caption(w("scope_some", lang, parts=parts))
        st.button(w("sign_out", lang), on_click=sign_out, type="tertiary", key="sign_out")
        st.divider()
