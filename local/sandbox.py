"""The platform sandbox: Facebook Graph, X API v2 and WhatsApp Cloud API as the adapters see them.

It answers with the platforms' success shapes and error envelopes, knows which token belongs to which
account (an unknown token gets the platform's auth error), and keeps a log of every request it received,
readable at GET /_sandbox/requests — tokens masked.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

GRAPH_PATH = re.compile(r"^/(v\d+\.\d+)/([^/]+)/(feed|photos|messages)$")


@dataclass
class Account:
    account_id: str
    platform: str
    target_id: str


@dataclass
class SandboxState:
    accounts_by_token: dict[str, Account] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    x_remaining: dict[str, int] = field(default_factory=dict)


class PlatformSandbox:
    X_WINDOW_LIMIT = 100
    X_WINDOW_SECONDS = 900

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.state = SandboxState()
        self._ids = itertools.count(1_000_001)
        self._lock = threading.Lock()
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def register(self, token: str, account_id: str, platform: str, target_id: str) -> None:
        with self._lock:
            self.state.accounts_by_token[token] = Account(account_id, platform, target_id)

    def start(self) -> PlatformSandbox:
        self._server = make_server(self.host, self.port, self._wsgi, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="platform-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def received(self, platform: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.state.requests if platform in (None, r["platform"])]

    # ---- HTTP ---------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._route(request)
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        if request.path == "/_sandbox/requests":
            if request.method == "DELETE":
                with self._lock:
                    self.state.requests.clear()
                return _json({"cleared": True})
            return _json({"requests": self.received(request.args.get("platform"))})
        graph = GRAPH_PATH.match(request.path)
        if request.method == "POST" and graph:
            version, target_id, edge = graph.groups()
            platform = "whatsapp" if edge == "messages" else "facebook"
            return self._graph(request, platform, target_id, edge)
        if request.method == "POST" and request.path == "/2/tweets":
            return self._tweet(request)
        return _json({"error": {"message": f"Unknown path components: {request.path}", "type": "OAuthException",
                                "code": 2500, "fbtrace_id": "sandbox"}}, 400)

    def _graph(self, request: Request, platform: str, target_id: str, edge: str) -> Response:
        body = request.get_json(silent=True) if request.is_json else request.form.to_dict()
        account = self._account(request)
        if account is None or account.platform != platform or account.target_id != target_id:
            return self._log(request, platform, target_id, body, 400, _graph_error(
                190, "Error validating access token: the token does not belong to this object.", "OAuthException"))
        if platform == "facebook":
            if edge == "messages" or not (body.get("message") or body.get("url") or body.get("link")):
                return self._log(request, platform, target_id, body, 400, _graph_error(
                    100, "(#100) The post is empty: give message, link or url.", "OAuthException"))
            post_id = f"{target_id}_{next(self._ids)}"
            answer = {"id": post_id} if edge == "feed" else {"id": str(next(self._ids)), "post_id": post_id}
            return self._log(request, platform, target_id, body, 200, answer)
        if edge != "messages" or not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return self._log(request, platform, target_id, body, 400, _graph_error(
                100, "(#100) The parameter messaging_product is required.", "OAuthException"))
        recipient = str(body.get("to", ""))
        if not recipient.isdigit():
            return self._log(request, platform, target_id, body, 400, _graph_error(
                131009, "(#131009) Parameter value is not valid: to", "OAuthException"))
        message_id = f"wamid.SANDBOX{next(self._ids)}"
        return self._log(request, platform, target_id, body, 200, {
            "messaging_product": "whatsapp", "contacts": [{"input": recipient, "wa_id": recipient}],
            "messages": [{"id": message_id, "message_status": "accepted"}]})

    def _tweet(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        account = self._account(request)
        if account is None or account.platform != "x":
            return self._log(request, "x", None, body, 401, {
                "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
        text = body.get("text", "")
        if not isinstance(text, str) or not text:
            return self._log(request, "x", account.target_id, body, 400, {
                "title": "Invalid Request", "status": 400, "detail": "One or more parameters to your request "
                "was invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"})
        with self._lock:
            remaining = self.state.x_remaining.get(account.target_id, self.X_WINDOW_LIMIT) - 1
            self.state.x_remaining[account.target_id] = remaining
        tweet_id = str(next(self._ids))
        headers = {"x-rate-limit-limit": str(self.X_WINDOW_LIMIT), "x-rate-limit-remaining": str(max(remaining, 0)),
                   "x-rate-limit-reset": str(int(time.time()) + self.X_WINDOW_SECONDS)}
        return self._log(request, "x", account.target_id, body, 201,
                         {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}, headers)

    def _account(self, request: Request) -> Account | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").removeprefix("OAuth ")
        with self._lock:
            return self.state.accounts_by_token.get(token)

    def _log(self, request: Request, platform: str, target_id: str | None, body: Any, status: int,
             answer: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        account = self._account(request)
        with self._lock:
            self.state.requests.append({
                "seq": len(self.state.requests) + 1, "at": time.time(), "platform": platform,
                "account_id": account.account_id if account else None, "target_id": target_id,
                "method": request.method, "path": request.path,
                "authorization": "present (masked)" if request.headers.get("Authorization") else "missing",
                "body": body, "status": status, "response": answer})
        response = _json(answer, status)
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response


def _graph_error(code: int, message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdSandbox"}}


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, content_type="application/json")
