"""Delivery through Apprise: WeCom group robot, DingTalk robot (signed), Feishu/Lark bot, SMTP mail.

Mail (and any other channel) uses Apprise's own plugins from an Apprise URL. The three robots go
through one Apprise plugin of ours (``asrobot://``, built with ``apprise.decorators.notify``)
that posts each vendor's documented payload to the webhook address the robot's settings show,
because Apprise's built-in ones fall short here (Apprise 2.3):

- ``dingtalk://`` passes the already URL-encoded signature to ``requests`` as a parameter, which
  encodes it again (``%2B`` becomes ``%252B``): DingTalk answers "sign not match" (310000);
- ``wecombot://`` and ``dingtalk://`` judge by the HTTP status only, but both robots refuse a
  message with HTTP 200 and a non-zero ``errcode``: a refused message would count as sent;
- all of them post to fixed public hosts, so no test could receive their posts on this machine.

The webhook address (it carries the robot's key) comes from the environment or a file outside
the repository, so a test points a target at a loopback server simply by its address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import apprise
import requests
from apprise.decorators import notify

from aftersales.errors import UserError, clip
from alerts.settings import Target

log = logging.getLogger("apprise")  # Apprise's LogCapture reads this logger: our plugin's errors land in it
TIMEOUT = 10.0


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk's 加签: base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")), URL-encoded once."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """Feishu/Lark's signature: base64(HMAC-SHA256(key="timestamp\\nsecret", empty message))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def payload(vendor: str, title: str, body: str, secret: str | None = None) -> dict[str, Any]:
    """The vendor's documented message: markdown for WeCom and DingTalk, a rich-text post for Feishu."""
    if vendor == "wecom":  # content up to 4096 bytes
        return {"msgtype": "markdown", "markdown": {"content": _markdown(title, body)[:1500]}}
    if vendor == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": _markdown(title, body)}}
    lines = body.split("\n")[1:] if body.startswith(title) else body.split("\n")
    content = [[{"tag": "a", "text": line.split("：", 1)[0].split(": ", 1)[0], "href": _url_in(line)}]
               if _url_in(line) else [{"tag": "text", "text": line}] for line in lines]
    out: dict[str, Any] = {"msg_type": "post", "content": {"post": {"zh_cn": {"title": title, "content": content}}}}
    if secret:
        ts = str(int(time.time()))
        out.update(timestamp=ts, sign=feishu_sign(secret, ts))
    return out


def _url_in(line: str) -> str | None:
    for word in line.replace("：", " ").split():
        if word.startswith(("http://", "https://")):
            return word
    return None


def _markdown(title: str, body: str) -> str:
    lines = body.split("\n")
    if lines and lines[0] == title:
        lines = lines[1:]
    out = [f"### {title}"]
    for line in lines:
        url = _url_in(line)
        out.append(f"[{line.replace(url, '').rstrip('：: ')}]({url})" if url else line)
    return "\n\n".join(out)


def _refused(vendor: str, r: requests.Response) -> str | None:
    """The robot's own verdict: HTTP 200 with errcode/code 0 is delivered; anything else says why."""
    if r.status_code != 200:
        return f"HTTP {r.status_code}: {clip(r.text, 120)}"
    try:
        answer = r.json()
    except ValueError:
        return f"not a JSON answer: {clip(r.text, 120)}"
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    if code not in (0, "0", None):
        return f"{vendor} refused: {code} {clip(answer.get('errmsg') or answer.get('msg') or '', 120)}"
    return None


@notify(on="asrobot", name="aftersales group robots (WeCom, DingTalk, Feishu/Lark)")
def _send_robot(body: str, title: str, notify_type: Any, meta: dict, *args: Any, **kwargs: Any) -> bool:
    qsd = meta.get("qsd") or {}
    vendor, hook, secret = meta.get("host", ""), qsd.get("hook", ""), qsd.get("secret") or None
    params: dict[str, str] = {}
    if vendor == "dingtalk" and secret:
        ts = str(int(time.time() * 1000))
        params = {"timestamp": ts, "sign": dingtalk_sign(secret, ts)}
    url = hook
    if params:  # appended as written: the signature is URL-encoded once, by dingtalk_sign
        url += ("&" if "?" in hook else "?") + "&".join(f"{k}={v}" for k, v in params.items())
    try:
        r = requests.post(url, data=json.dumps(payload(vendor, title, body, secret), ensure_ascii=False).encode(),
                          headers={"Content-Type": "application/json; charset=utf-8"}, timeout=TIMEOUT)
    except requests.RequestException as exc:
        # the exception's text carries the address, and the address the robot's key: never stored
        host = urllib.parse.urlsplit(hook).netloc
        log.warning("%s webhook %s unreachable (%s)", vendor, host, type(exc).__name__)
        return False
    why = _refused(vendor, r)
    if why:
        log.warning("%s", why)
        return False
    return True


def apprise_url(target: Target) -> str:
    """The Apprise URL a target sends through (holds its secrets: never printed or stored)."""
    if target.kind in ("wecom", "dingtalk", "feishu"):
        q = {"hook": target.secret("webhook")}
        if target.kind in ("dingtalk", "feishu"):
            sec = target.secret("secret", required=False)
            if sec:
                q["secret"] = sec
        return f"asrobot://{target.kind}/?{urllib.parse.urlencode(q)}"
    return str(target.secret("url"))  # mail: mailtos://user:pass@smtp.example.com?to=...; any Apprise URL


def recipients(target: Target) -> int | None:
    """How many people a target reaches, as far as its address says: a mail's addresses (its
    ``to``, else the sender itself), 1 for a group robot or any other channel; None when the
    address cannot be read (a missing secret). For the audit of report sends."""
    if target.kind in ("wecom", "dingtalk", "feishu"):
        return 1
    try:
        plugin = apprise.Apprise.instantiate(apprise_url(target))
    except UserError:
        return None
    if plugin is None:
        return None
    return max(len(getattr(plugin, "targets", None) or []), 1)


@dataclass
class Delivery:
    target: str
    status: str          # sent | failed
    attempts: int
    error: str | None
    at: float            # time.time() of the last attempt


def send(target: Target, title: str, body: str, attach: list[str] | None = None, retries: int = 3,
         backoff: float = 2.0, sleep: Any = time.sleep) -> Delivery:
    """Send one message to one target, retrying with back-off (``backoff``, ×2 each time); never
    raises: a failure (a missing secret too) comes back as ``status='failed'`` with its reason."""
    attempts, error = 0, None
    try:
        url = apprise_url(target)
    except UserError as exc:  # a missing secret fails this target only
        return Delivery(target.id, "failed", 0, clip(str(exc), 300), time.time())
    ap = apprise.Apprise()
    if not ap.add(url):
        return Delivery(target.id, "failed", 0, f"Apprise does not accept the {target.kind} address of this target",
                        time.time())
    for attempt in range(retries + 1):
        attempts = attempt + 1
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            ok = ap.notify(body=body, title=title, attach=attach or None)
        if ok:
            return Delivery(target.id, "sent", attempts, None, time.time())
        said = [line for line in captured.getvalue().splitlines() if line.strip()]
        error = clip(said[0] if said else "delivery failed", 300)  # the first line says why; Apprise's own follows
        if attempt < retries:
            sleep(backoff * (2 ** attempt))
    return Delivery(target.id, "failed", attempts, error, time.time())
