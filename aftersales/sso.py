"""Single sign-on: companies with an identity provider (WeCom, DingTalk, Feishu, Keycloak) sign
in by OpenID Connect through Streamlit's own ``st.login``; the role and data scope come from the
provider's claims, as ``[auth.oidc]`` in the config says (docs/ACCESS.md).

Streamlit keeps the provider's settings in its secrets file (``[auth]``: redirect_uri,
cookie_secret, client_id, client_secret, server_metadata_url); ``aftersales dashboard`` hands
Streamlit the file ``[auth.oidc] secrets_file`` names. Nothing here imports streamlit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aftersales.auth import AuthError, auth_settings
from aftersales.errors import UserError, clip
from aftersales.principal import ROLES, Principal, make_scope

OIDC_DEFAULTS: dict[str, Any] = {
    "secrets_file": None,        # Streamlit secrets (TOML) with its [auth] section: redirect_uri, cookie_secret,
                                 # client_id, client_secret, server_metadata_url
    "provider": "",              # its [auth.NAME] section, or "" for [auth] itself
    "label": "",                 # the button's words (default: 使用企业账号登录 / Sign in with the company account)
    "username_claim": "preferred_username",
    "name_claim": "name",
    "role_claim": "aftersales_role",
    "regions_claim": "aftersales_regions",
    "outlets_claim": "aftersales_outlets",
    "outlet_types_claim": "aftersales_outlet_types",
    "roles": {},                 # the provider's role value -> our role (e.g. "hq" = "head_office")
}


def oidc_settings(conf: dict[str, Any] | None, db_path: Path | None = None) -> dict[str, Any] | None:
    """``[auth.oidc]`` with its defaults, its secrets file resolved (relative to the database's
    folder); None when single sign-on is not configured."""
    section = auth_settings(conf).get("oidc")
    if not section:
        return None
    if not isinstance(section, dict):
        raise UserError("config: [auth.oidc] must be a table (secrets_file, provider, role_claim, ...)")
    s = {**OIDC_DEFAULTS, **section}
    if not s["secrets_file"]:
        raise UserError("config [auth.oidc]: secrets_file must name the Streamlit secrets file with the provider's "
                        "[auth] settings (redirect_uri, cookie_secret, client_id, client_secret, server_metadata_url)")
    p = Path(str(s["secrets_file"])).expanduser()
    if not p.is_absolute() and db_path is not None:
        p = Path(db_path).parent / p
    if not p.is_file():
        raise UserError(f"config [auth.oidc]: secrets_file {clip(p)} does not exist")
    s["secrets_file"] = p.resolve()
    return s


def _claim_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # "east,north" or "east north", as some providers flatten lists
        return [v for v in value.replace(",", " ").split() if v]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def principal_from_claims(claims: dict[str, Any], oidc: dict[str, Any]) -> Principal:
    """The principal an identity provider's claims describe: user name, role (mapped through
    ``roles`` when given), data scope; the role's default permissions. Raises AuthError
    (``no_role``) when the claims carry no role we know or a scope that does not fit it."""
    username = next((str(claims[c]) for c in (oidc["username_claim"], "email", "sub") if claims.get(c)), None)
    if not username:
        raise AuthError("no_role", "the identity provider sent no user name (sub)")
    raw_roles = _claim_list(claims.get(oidc["role_claim"]))
    mapping = oidc.get("roles") or {}
    roles = [mapping.get(r, r if not mapping else None) for r in raw_roles]
    role = next((r for r in roles if r in ROLES), None)
    if role is None:
        raise AuthError("no_role", f"{username}: the identity provider's claim {oidc['role_claim']!r} names no "
                        f"aftersales role ({', '.join(ROLES)})")
    try:
        scope = make_scope(role, _claim_list(claims.get(oidc["regions_claim"])),
                           _claim_list(claims.get(oidc["outlets_claim"])),
                           _claim_list(claims.get(oidc["outlet_types_claim"])))
    except UserError as exc:
        raise AuthError("no_role", f"{username}: {exc}") from None
    name = str(claims.get(oidc["name_claim"]) or username)
    return Principal(username, name, role, scope, ROLES[role].permissions, method="oidc")
