"""The permissions checked below the pages: a function that exports, unmasks or changes alert
state takes the principal and refuses when it lacks the permission, so that a page forgetting
its gate (or a URL reaching a hidden page) still hands nothing out.

``Refused`` is a ``UserError``: the CLI prints it as one line (exit 2), the dashboard as a
warning in the reader's language.
"""

from __future__ import annotations

from typing import Any

from aftersales.errors import UserError

# permission -> (中文, English) of what it refuses
REFUSALS = {
    "download": ("当前账号无下载权限，请联系总部管理员开通。",
                 "Your account may not download; ask head office for the download permission."),
    "unmask": ("当前账号无权查看未遮蔽的个人信息，姓名与电话保持遮蔽。",
               "Your account may not see personal data unmasked; names and phones stay masked."),
    "forecasts": ("当前账号无权查看预测（人员排班与备件），请联系总部管理员开通。",
                  "Your account may not see forecasts (staffing and spare parts); ask head office."),
    "alerts": ("当前账号无权管理预警，本页仅供查看。",
               "Your account may not manage alerts; this page is read-only for you."),
    "audit": ("审计记录仅总部可见。", "The audit trail is for head office only."),
    # alerts and quarantined rows are judged and kept for the whole company, not per region
    "whole_company": ("本页内容覆盖全公司，仅对数据范围为全公司的账号开放；本区域的告警会发送到本区域的接收方。",
                      "This page covers the whole company and is open only to accounts whose data scope is the "
                      "whole company; your region's alerts are sent to your region's target."),
}


class Refused(UserError):
    """A principal asked for something its permissions do not give."""

    def __init__(self, permission: str, lang: str = "zh") -> None:
        self.permission = permission
        zh, en = REFUSALS[permission]
        super().__init__(zh if lang == "zh" else en)


def require(principal: Any, permission: str, lang: str = "zh") -> None:
    """Raise ``Refused`` unless ``principal`` may ``permission`` (unmask, download, forecasts,
    alerts; ``audit``: whole-company head office only)."""
    if not allowed(principal, permission):
        raise Refused(permission, lang)


def allowed(principal: Any, permission: str) -> bool:
    if principal is None:
        return False
    if permission == "audit":
        return principal.role == "head_office" and principal.scope.whole_company
    if permission == "whole_company":
        return principal.scope.whole_company
    return bool(principal.can(permission))
