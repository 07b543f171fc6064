"""Loopback receivers for the alert tests: an HTTP server that answers like the WeCom, DingTalk
and Feishu robots (checking DingTalk's signature as DingTalk does), and a real SMTP server
(aiosmtpd). Both listen on 127.0.0.1 only: no test reaches beyond the machine."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Post:
    path: str
    query: dict[str, str]       # decoded once, as a server reads it
    raw_query: str
    headers: dict[str, str]
    body: dict


@dataclass
class Robots:
    """Answers per path: /cgi-bin/webhook/send (WeCom), /robot/send (DingTalk), /open-apis/bot/v2/hook/…
    (Feishu); any path under /fail/ answers HTTP 500."""

    ding_secret: str = ""
    feishu_secret: str = ""
    posts: list[Post] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, post: Post) -> tuple[int, dict]:
        if post.path.startswith("/fail/"):
            return 500, {"error": "down"}
        if post.path == "/robot/send":
            if self.ding_secret:
                ts, sign = post.query.get("timestamp", ""), post.query.get("sign", "")
                want = base64.b64encode(hmac.new(self.ding_secret.encode(), f"{ts}\n{self.ding_secret}".encode(),
                                                 hashlib.sha256).digest()).decode()
                if not ts.isdigit() or abs(time.time() * 1000 - int(ts)) > 3_600_000 or sign != want:
                    return 200, {"errcode": 310000, "errmsg": "sign not match"}
            return 200, {"errcode": 0, "errmsg": "ok"}
        if post.path.startswith("/open-apis/bot/v2/hook/"):
            if self.feishu_secret:  # Feishu: HMAC-SHA256 keyed by "timestamp\nsecret" over nothing, base64, in the body
                ts = str(post.body.get("timestamp", ""))
                want = base64.b64encode(hmac.new(f"{ts}\n{self.feishu_secret}".encode(), b"",
                                                 hashlib.sha256).digest()).decode()
                if not ts.isdigit() or abs(time.time() - int(ts)) > 3600 or post.body.get("sign") != want:
                    return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
            return 200, {"code": 0, "msg": "success"}
        if post.path == "/cgi-bin/webhook/send":
            ok = post.query.get("key") and post.body.get("msgtype") in ("text", "markdown")
            return 200, ({"errcode": 0, "errmsg": "ok"} if ok else {"errcode": 93000, "errmsg": "invalid webhook url"})
        return 404, {}


def start_robots(ding_secret: str = "", feishu_secret: str = "") -> Robots:
    robots = Robots(ding_secret, feishu_secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            post = Post(url.path, dict(urllib.parse.parse_qsl(url.query)), url.query, dict(self.headers.items()),
                        json.loads(raw.decode("utf-8")) if raw else {})
            robots.posts.append(post)
            status, answer = robots.answer(post)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    robots.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=robots.server.serve_forever, daemon=True).start()
    return robots


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """What the SMTP server received: one parsed message per mail."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.rcpt: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content))
        self.rcpt.append(list(envelope.rcpt_tos))
        return "250 OK"


def start_smtp():
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    return ctl, box, port
