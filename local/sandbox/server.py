"""The platform sandbox server: the platforms' success shapes, their error envelopes and their rules.

What it emulates (platforms.md, "What the sandbox must emulate"):
- versioned Graph paths; 201 for X posts; the documented success bodies;
- every error class, injectable per platform, account and text (`Fault`), once, n times or always;
- X rate-limit headers that move (100 posts / 15 min per user) and a 429 when the window is spent;
- duplicate detection per account (Graph 506, X 403), X's weighted-length check (280);
- WhatsApp template names and parameter counts, the 24-hour window (free-form messages only to
  recipients who wrote in the last 24 h), the pair rate (one message per recipient per 6 s), the
  throughput cap (80 messages a second per number) and a stop list (131050 for templates);
- signed webhooks back to the app: message statuses (with our biz_opaque_callback_data) and inbound
  messages, in Meta's envelope;
- read endpoints the adapters use to check tokens and to look for a post after an ambiguous call;
- a log of every request, tokens masked, at GET /_sandbox/requests.
Time is the system's clock, so a replay on a simulated clock sees the same windows.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from chalicelib.adapters.clock import Clock, SystemClock
from local.sandbox.faults import RESPONSES, Fault, graph_error, x_problem

GRAPH_IDS = re.compile(r"^/v\d+\.\d+/?$")
GRAPH = re.compile(r"^/(v\d+\.\d+)/([^/]+)(?:/([a-z_]+))?$")
X_USER_TWEETS = re.compile(r"^/2/users/([^/]+)/tweets$")
X_WINDOW = timedelta(minutes=15)
X_WINDOW_LIMIT = 100
PAIR_RATE = timedelta(seconds=6)
WHATSAPP_THROUGHPUT = 80
WEBHOOK_BATCH = 50
WEBHOOK_ATTEMPTS = 5  # the app answers 503 while a post it concerns is mid-send
WEBHOOK_RETRY_SECONDS = 0.2
CUSTOMER_WINDOW = timedelta(hours=24)
DUPLICATE_WINDOW = timedelta(hours=24)
X_MEDIA_LIMITS = {"image/jpeg": 5 << 20, "image/png": 5 << 20, "image/webp": 5 << 20, "image/gif": 15 << 20,
                  "video/mp4": 512 << 20, "video/quicktime": 512 << 20}


@dataclass
class Account:
    account_id: str
    platform: str
    target_id: str


@dataclass
class SandboxState:
    accounts_by_token: dict[str, Account] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    posts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)       # account → what it published
    x_window: dict[str, tuple[datetime, int]] = field(default_factory=dict)    # user → (window start, used)
    last_inbound: dict[str, datetime] = field(default_factory=dict)            # phone → last message from them
    last_outbound: dict[tuple[str, str], datetime] = field(default_factory=dict)
    templates: dict[str, int] = field(default_factory=lambda: {"budget_update": 2, "daily_kit": 1,
                                                               "prachar_coverage_gaps": 2, "prachar_daily_report": 4,
                                                               "hello_world": 0})
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)          # X media and Graph sessions
    oauth1: dict[str, dict[str, str]] = field(default_factory=dict)           # access token → credentials
    stopped: set[str] = field(default_factory=set)                            # phones that stopped marketing
    metrics: dict[str, dict[str, int]] = field(default_factory=dict)          # platform id → counts set by a test
    metric_reads: dict[str, int] = field(default_factory=dict)                # account id → engagement reads
    sent_at: dict[str, list[datetime]] = field(default_factory=dict)          # number → recent send times
    throughput: dict[str, int] = field(default_factory=dict)                  # number → messages a second


class PlatformSandbox:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, clock: Clock | None = None,
                 slow_seconds: float = 2.0, app_secret: str = "local-app-secret") -> None:
        self.host = host
        self.port = port
        self.clock: Clock = clock or SystemClock()
        self.slow_seconds = slow_seconds
        self.state = SandboxState()
        self._ids = itertools.count(1_000_001)
        self._lock = threading.RLock()
        self._server: Any = None
        self.app_secret = app_secret
        self.webhook_url: str | None = None   # where signed webhooks go; None: kept in `outbox` for tests
        self.webhook_statuses = ("sent", "delivered")
        self.outbox: list[tuple[str, dict[str, Any]]] = []   # (phone number id, change value) to send
        self._posting = 0
        self._outbox_ready = threading.Condition(self._lock)

    # ---- control ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def deliver_webhooks_to(self, url: str) -> None:
        """Post every webhook, signed with the app secret, to the app (a background thread, as Meta does)."""
        self.webhook_url = url
        threading.Thread(target=self._post_webhooks, name="sandbox-webhooks", daemon=True).start()

    def take_webhooks(self) -> list[tuple[bytes, dict[str, str]]]:
        """The webhooks not sent yet, signed, one envelope each (for tests that deliver them by hand)."""
        with self._lock:
            taken, self.outbox = self.outbox, []
        return [self._signed([item]) for item in taken]

    def webhooks_pending(self) -> int:
        """Webhooks on their way to the app (none count when no app listens)."""
        with self._lock:
            return len(self.outbox) + self._posting if self.webhook_url else 0

    def _post_webhooks(self) -> None:
        import urllib.error
        import urllib.request

        while True:
            with self._outbox_ready:
                while not self.outbox:
                    self._outbox_ready.wait()
                batch, self.outbox = self.outbox[:WEBHOOK_BATCH], self.outbox[WEBHOOK_BATCH:]
                self._posting += len(batch)
            try:
                body, headers = self._signed(batch)
                for attempt in range(WEBHOOK_ATTEMPTS):  # Meta redelivers what was not answered 2xx (for days)
                    request = urllib.request.Request(self.webhook_url or "", data=body, method="POST",
                                                     headers={**headers, "Content-Type": "application/json"})
                    try:
                        urllib.request.urlopen(request, timeout=10).close()
                        break
                    except urllib.error.HTTPError as exc:
                        if exc.code < 500:
                            break  # refused (a bad signature): sending it again changes nothing
                        time.sleep(WEBHOOK_RETRY_SECONDS * (attempt + 1))
                    except OSError:
                        time.sleep(WEBHOOK_RETRY_SECONDS * (attempt + 1))
            finally:
                with self._lock:
                    self._posting -= len(batch)

    def _send_webhook(self, phone_number_id: str, value: dict[str, Any]) -> None:
        with self._outbox_ready:
            self.outbox.append((phone_number_id, value))
            self._outbox_ready.notify()

    def _signed(self, items: list[tuple[str, dict[str, Any]]]) -> tuple[bytes, dict[str, str]]:
        """One envelope for several changes, as Meta batches them: an entry change per item."""
        changes = [{"value": {"messaging_product": "whatsapp",
                              "metadata": {"display_phone_number": "919000000000", "phone_number_id": number},
                              **{k: v for k, v in value.items() if k != "_field"}},
                    "field": value.get("_field", "messages")} for number, value in items]
        envelope = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": changes}]}
        body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        signature = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"X-Hub-Signature-256": f"sha256={signature}"}

    def _status_webhooks(self, phone_number_id: str, message_id: str, recipient: str, reference: str | None) -> None:
        for status in self.webhook_statuses:
            entry: dict[str, Any] = {"id": message_id, "status": status, "timestamp": str(int(
                self.clock.now().timestamp())), "recipient_id": recipient,
                "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility"}}
            if reference:
                entry["biz_opaque_callback_data"] = reference
            self._send_webhook(phone_number_id, {"statuses": [entry]})

    def start(self) -> PlatformSandbox:
        self._server = make_server(self.host, self.port, self._wsgi, threaded=True,
                                   request_handler=_GraphHeadersHandler)
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, name="platform-sandbox", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def register(self, token: str, account_id: str, platform: str, target_id: str) -> None:
        with self._lock:
            self.state.accounts_by_token[token] = Account(account_id, platform, target_id)

    def register_oauth1(self, credentials: dict[str, str], account_id: str, target_id: str) -> None:
        """An X account authorized with OAuth 1.0a: requests must carry a valid HMAC-SHA1 signature."""
        with self._lock:
            self.state.accounts_by_token[credentials["access_token"]] = Account(account_id, "x", target_id)
            self.state.oauth1[credentials["access_token"]] = dict(credentials)

    def revoke(self, account_id: str) -> None:
        """The account's token stops working, as when a page admin changes their password."""
        with self._lock:
            for token in [t for t, a in self.state.accounts_by_token.items() if a.account_id == account_id]:
                del self.state.accounts_by_token[token]

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self.state.faults.append(fault)
        return fault

    def open_window(self, phone: str, *, to_number: str | None = None, text: str = "join") -> None:
        """The recipient wrote to the business number: free-form messages may reach them for 24 h.
        With `to_number`, the app also gets the inbound-message webhook."""
        with self._lock:
            self.state.last_inbound[phone.lstrip("+")] = self.clock.now()
        if to_number:
            self._send_webhook(to_number, {"contacts": [{"profile": {"name": "Sandbox"}, "wa_id": phone.lstrip("+")}],
                                           "messages": [{"from": phone.lstrip("+"), "id": f"wamid.IN{next(self._ids)}",
                                                         "timestamp": str(int(self.clock.now().timestamp())),
                                                         "text": {"body": text}, "type": "text"}]})

    def marketing_preference(self, phone: str, value: str, *, to_number: str) -> None:
        """The person stops (or resumes) marketing messages in WhatsApp itself: Meta's `user_preferences` webhook,
        and Meta refuses marketing templates to them from then on (131050)."""
        wa_id = phone.lstrip("+")
        with self._lock:
            if value == "stop":
                self.state.stopped.add(wa_id)
            else:
                self.state.stopped.discard(wa_id)
        self._send_webhook(to_number, {"_field": "user_preferences",
                                       "contacts": [{"profile": {"name": "Sandbox"}, "wa_id": wa_id}],
                                       "user_preferences": [{"wa_id": wa_id, "detail": f"User requested to {value} "
                                                             "marketing messages", "category": "marketing_messages",
                                                             "value": value,
                                                             "timestamp": int(self.clock.now().timestamp())}]})

    def reset(self) -> None:
        with self._lock:
            self.state = SandboxState(accounts_by_token=self.state.accounts_by_token, oauth1=self.state.oauth1)
            self.outbox.clear()

    def received(self, platform: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.state.requests if platform in (None, r["platform"])]

    # ---- HTTP ---------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self._route(request)(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sandbox/"):
            return self._control(request)
        if path == "/2/tweets" and request.method == "POST":
            return self._tweet(request)
        if path.startswith("/2/media/upload"):
            return self._x_media(request)
        if path == "/2/users/me" and request.method == "GET":
            return self._x_me(request)
        if path == "/2/tweets" and request.method == "GET":
            return self._x_metrics(request)
        if GRAPH_IDS.match(path) and request.method == "GET":
            return self._facebook_metrics(request)
        user_tweets = X_USER_TWEETS.match(path)
        if user_tweets and request.method == "GET":
            return self._x_user_tweets(request, user_tweets.group(1))
        graph = GRAPH.match(path)
        if graph:
            _version, node, edge = graph.groups()
            if request.method == "POST" and edge in ("feed", "photos", "videos"):
                return self._facebook_post(request, node, edge)
            if request.method == "POST" and edge == "uploads":
                return self._graph_upload_session(request)
            if request.method == "POST" and edge is None and node.startswith("upload:"):
                return self._graph_upload_bytes(request, node)
            if request.method == "GET" and edge in ("feed", "published_posts"):
                return self._facebook_feed(request, node, own_only=edge == "published_posts")
            if request.method == "POST" and edge == "messages":
                return self._whatsapp_message(request, node)
            if request.method == "GET" and edge is None:
                return self._graph_node(request, node)
        return _json(graph_error(2500, f"Unknown path components: {path}"), 400)

    def _control(self, request: Request) -> Response:
        if request.path == "/_sandbox/requests":
            if request.method == "DELETE":
                with self._lock:
                    self.state.requests.clear()
                return _json({"cleared": True})
            return _json({"requests": self.received(request.args.get("platform"))})
        if request.path == "/_sandbox/faults":
            if request.method == "POST":
                try:
                    fault = self.inject(Fault.from_dict(request.get_json(force=True)))
                except (TypeError, ValueError) as exc:
                    return _json({"error": str(exc)}, 400)
                return _json({"fault": {"platform": fault.platform, "kind": fault.kind}}, 201)
            if request.method == "DELETE":
                with self._lock:
                    self.state.faults.clear()
                return _json({"cleared": True})
            with self._lock:
                return _json({"faults": [{"platform": f.platform, "kind": f.kind, "account_id": f.account_id,
                                          "times": f.times, "fired": f.fired} for f in self.state.faults]})
        if request.path == "/_sandbox/inbound" and request.method == "POST":
            message = request.get_json(force=True)
            self.open_window(str(message.get("from", "")), to_number=message.get("to"),
                             text=message.get("text", "join"))
            return _json({"window": "open"})
        return _json({"error": "unknown sandbox control"}, 404)

    # ---- Facebook -----------------------------------------------------------------------------
    def _facebook_post(self, request: Request, page_id: str, edge: str) -> Response:
        body = request.form.to_dict() if not request.is_json else (request.get_json(silent=True) or {})
        account = self._account(request, "facebook")
        if account is None or account.target_id != page_id:
            return self._answer(request, "facebook", account, body, 400, graph_error(
                190, "Error validating access token: the token does not belong to this object."))
        fault = self._fault("facebook", account, body)
        if fault and fault.kind not in ("timeout_after_send", "server_error_after_send"):
            return self._fail(request, "facebook", account, body, fault)
        text = body.get("message") or body.get("caption") or body.get("description") or ""
        if not (text or body.get("url") or body.get("link") or body.get("fbuploader_video_file_chunk")):
            return self._answer(request, "facebook", account, body, 400,
                                graph_error(100, "(#100) The post is empty: give message, link or url."))
        if edge == "photos" and not body.get("url") and "source" not in request.files:
            return self._answer(request, "facebook", account, body, 400,
                                graph_error(324, "(#324) Requires upload file: give url or source"))
        if edge == "videos":
            with self._lock:
                session = next((u for u in self.state.uploads.values()
                                if u.get("handle") == body.get("fbuploader_video_file_chunk")), None)
            if session is None:
                return self._answer(request, "facebook", account, body, 400,
                                    graph_error(100, "(#100) Invalid video file handle"))
        if text and self._is_duplicate(account, text):
            return self._answer(request, "facebook", account, body, 400, graph_error(506, "Duplicate status message"))
        post_id = f"{page_id}_{next(self._ids)}"
        self._remember(account, post_id, text)
        answer = {"id": post_id} if edge != "photos" else {"id": str(next(self._ids)), "post_id": post_id}
        if fault and fault.kind == "server_error_after_send":
            return self._fail(request, "facebook", account, body, fault, created=post_id)
        return self._answer(request, "facebook", account, body, 200, answer, slow=fault is not None)

    def _graph_upload_session(self, request: Request) -> Response:
        """POST /{app-id}/uploads?file_name&file_length&file_type: start a resumable upload."""
        try:
            length = int(request.args["file_length"])
        except (KeyError, ValueError):
            return _json(graph_error(100, "(#100) file_length is required"), 400)
        session = f"upload:SANDBOX{next(self._ids)}"
        with self._lock:
            self.state.uploads[session] = {"length": length, "type": request.args.get("file_type"), "data": b""}
        return self._answer(request, "facebook", None, dict(request.args), 200, {"id": session})

    def _graph_upload_bytes(self, request: Request, session_id: str) -> Response:
        """POST /upload:<session> with `Authorization: OAuth <token>`, `file_offset` and the bytes."""
        if not request.headers.get("Authorization", "").startswith("OAuth "):
            return _json(graph_error(190, "An OAuth access token is required (Authorization: OAuth …)"), 400)
        with self._lock:
            session = self.state.uploads.get(session_id)
            if session is None:
                return _json(graph_error(100, "(#100) Unknown upload session"), 400)
            if int(request.headers.get("file_offset", "-1")) != len(session["data"]):
                return _json(graph_error(100, "(#100) file_offset does not match the bytes received"), 400)
            session["data"] += request.get_data()
            complete = len(session["data"]) == session["length"]
            if complete:
                session["handle"] = f"4:SANDBOXHANDLE{next(self._ids)}"
        answer = {"h": session["handle"]} if complete else {"id": session_id, "file_offset": len(session["data"])}
        return self._answer(request, "facebook", None, {"bytes": len(request.get_data())}, 200, answer)

    def _facebook_feed(self, request: Request, page_id: str, *, own_only: bool) -> Response:
        """/feed: everything on the page, visitors' posts too; /published_posts: the page's own posts only."""
        account = self._account(request, "facebook")
        if account is None or account.target_id != page_id:
            return _json(graph_error(190, "Error validating access token."), 400)
        since, until = float(request.args.get("since", 0)), float(request.args.get("until", "inf"))
        posts = [{"id": p["id"], "message": p["text"], "created_time": p["at"].strftime("%Y-%m-%dT%H:%M:%S+0000"),
                  "from": {"id": p.get("from") or page_id, "name": "visitor" if p.get("from") else "page"}}
                 for p in self._posts(account) if since <= p["at"].timestamp() <= until
                 and not (own_only and p.get("from") not in (None, page_id))]
        return _json({"data": list(reversed(posts))})

    # ---- engagement -------------------------------------------------------------------------------
    def set_metrics(self, platform_id: str, counts: dict[str, int]) -> None:
        with self._lock:
            self.state.metrics[platform_id] = dict(counts)

    def metric_reads(self, account_id: str) -> int:
        with self._lock:
            return self.state.metric_reads.get(account_id, 0)

    def _counted(self, account: Account, platform_id: str, names: tuple[str, ...]) -> dict[str, int]:
        """A test's numbers, else numbers that grow with the post's age (each day adds a little to each)."""
        with self._lock:
            self.state.metric_reads[account.account_id] = self.state.metric_reads.get(account.account_id, 0) + 1
            fixed = self.state.metrics.get(platform_id)
        if fixed is not None:
            return {name: int(fixed.get(name, 0)) for name in names}
        made = next((p["at"] for p in self._posts(account) if p["id"] == platform_id), self.clock.now())
        hours = max(0, int((self.clock.now() - made).total_seconds() // 86400))
        seed = int(hashlib.sha256(platform_id.encode()).hexdigest()[:6], 16)
        return {name: (seed >> (3 * i)) % 7 + hours * (i + 1) for i, name in enumerate(names)}

    def _facebook_metrics(self, request: Request) -> Response:
        """GET /vXX/?ids=…&fields=reactions.summary(total_count),comments.summary(total_count),shares"""
        account = self._account(request, "facebook")
        if account is None:
            return _json(graph_error(190, "Error validating access token."), 400)
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not ids or len(ids) > 50:
            return _json(graph_error(100, "(#100) ids must name 1 to 50 objects"), 400)
        own = {p["id"] for p in self._posts(account)}
        if missing := [i for i in ids if i not in own]:
            return _json(graph_error(100, f"(#803) Some of the aliases you requested do not exist: {missing[0]}"), 404)
        answer = {}
        for post_id in ids:
            counts = self._counted(account, post_id, ("reactions", "comments", "shares"))
            answer[post_id] = {"id": post_id,
                               "reactions": {"data": [], "summary": {"total_count": counts["reactions"]}},
                               "comments": {"data": [], "summary": {"total_count": counts["comments"]}},
                               **({"shares": {"count": counts["shares"]}} if counts["shares"] else {})}
        return _json(answer)

    def _x_metrics(self, request: Request) -> Response:
        """GET /2/tweets?ids=…&tweet.fields=public_metrics (a missing post is an entry in `errors`)."""
        account = self._account(request, "x")
        if account is None:
            return _json(x_problem(401, "Unauthorized", "Unauthorized"), 401)
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not ids or len(ids) > 100:
            return _json(x_problem(400, "Invalid Request", "ids must name 1 to 100 posts"), 400)
        with self._lock:
            known = {p["id"]: p for posts in self.state.posts.values() for p in posts}
        data, errors = [], []
        for post_id in ids:
            if post_id not in known:
                errors.append({"value": post_id, "detail": f"Could not find tweet with ids: [{post_id}].",
                               "title": "Not Found Error", "type": "https://api.twitter.com/2/problems/resource-not-found"})
                continue
            counts = self._counted(account, post_id, ("like_count", "retweet_count", "reply_count", "quote_count",
                                                      "impression_count"))
            data.append({"id": post_id, "text": known[post_id]["text"], "public_metrics": {**counts,
                                                                                           "bookmark_count": 0}})
        return _json({**({"data": data} if data else {}), **({"errors": errors} if errors else {})})

    def _graph_node(self, request: Request, node: str) -> Response:
        """GET /me (a page token's page) or GET /<phone-number-id> (a WhatsApp number's status)."""
        token = _token(request)
        with self._lock:
            account = self.state.accounts_by_token.get(token)
        if account is None:
            return _json(graph_error(190, "Invalid OAuth access token - Cannot parse access token"), 400)
        if account.platform == "facebook" and node in ("me", account.target_id):
            return _json({"id": account.target_id, "name": f"Sandbox page {account.account_id}"})
        if account.platform == "whatsapp" and node == account.target_id:
            return _json({"id": node, "verified_name": f"Sandbox {account.account_id}",
                          "display_phone_number": "+91 90000 00000", "quality_rating": "GREEN"})
        if account.platform == "x":
            return _json(graph_error(190, "Invalid OAuth access token - Cannot parse access token"), 400)
        return _json(graph_error(100, f"(#100) Object {node} does not exist or the token cannot see it"), 400)

    # ---- X ------------------------------------------------------------------------------------
    def _tweet(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        account = self._account(request, "x")
        if account is None:
            return self._answer(request, "x", None, body, 401, x_problem(401, "Unauthorized", "Unauthorized"))
        fault = self._fault("x", account, body)
        if fault and fault.kind not in ("timeout_after_send", "server_error_after_send", "rate_limit"):
            return self._fail(request, "x", account, body, fault)
        window_start, used = self._x_window(account)
        reset = int((window_start + X_WINDOW).timestamp())
        if used >= X_WINDOW_LIMIT or (fault and fault.kind == "rate_limit"):
            return self._answer(request, "x", account, body, 429, x_problem(429, "Too Many Requests",
                                "Too Many Requests"), _x_headers(0, reset))
        text = body.get("text", "")
        if not isinstance(text, str) or not (text or body.get("media")):
            return self._answer(request, "x", account, body, 400, x_problem(
                400, "Invalid Request", "One or more parameters to your request was invalid.",
                "https://api.twitter.com/2/problems/invalid-request"))
        from twitter_text import parse_tweet

        if parse_tweet(text).weightedLength > 280:
            return self._answer(request, "x", account, body, 400, x_problem(
                400, "Invalid Request", "Your Tweet text is too long.",
                "https://api.twitter.com/2/problems/invalid-request"))
        for media_id in (body.get("media") or {}).get("media_ids", []):
            with self._lock:
                upload = self.state.uploads.get(media_id)
            if upload is None or upload.get("owner") != account.target_id or upload["state"] != "succeeded":
                return self._answer(request, "x", account, body, 400, x_problem(
                    400, "Invalid Request", f"media id {media_id} is not ready or not yours"))
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to and not any(p["id"] == reply_to for p in self._posts(account)):
            return self._answer(request, "x", account, body, 400, x_problem(
                400, "Invalid Request", "The Tweet you are replying to does not exist or is not visible."))
        if self._is_duplicate(account, text):
            return self._answer(request, "x", account, body, 403, x_problem(
                403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."))
        with self._lock:
            self.state.x_window[account.target_id] = (window_start, used + 1)
        tweet_id = str(next(self._ids))
        self._remember(account, tweet_id, text)
        if fault and fault.kind == "server_error_after_send":
            return self._fail(request, "x", account, body, fault, created=tweet_id)
        return self._answer(request, "x", account, body, 201,
                            {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}},
                            _x_headers(X_WINDOW_LIMIT - used - 1, reset), slow=fault is not None)

    def _x_media(self, request: Request) -> Response:
        """The v2 media upload: initialize, append segments, finalize, status."""
        account = self._account(request, "x")
        if account is None:
            return _json(x_problem(401, "Unauthorized", "Unauthorized"), 401)
        parts = request.path.strip("/").split("/")  # 2 media upload [initialize | <id> append|finalize]
        if request.method == "POST" and parts[3:] == ["initialize"]:
            body = request.get_json(silent=True) or {}
            kind, size = body.get("media_type", ""), int(body.get("total_bytes", 0))
            limit = X_MEDIA_LIMITS.get(kind)
            if limit is None or not 0 < size <= limit:
                return self._answer(request, "x", account, body, 400, x_problem(
                    400, "Invalid Request", f"media_type {kind!r} of {size} bytes is not accepted"))
            media_id = str(next(self._ids))
            with self._lock:
                self.state.uploads[media_id] = {"owner": account.target_id, "type": kind, "length": size,
                                                "segments": {}, "state": "initialized"}
            return self._answer(request, "x", account, body, 200, {"data": {
                "id": media_id, "media_key": f"3_{media_id}", "expires_after_secs": 86400}})
        with self._lock:
            upload = self.state.uploads.get(parts[3] if len(parts) > 3 else request.args.get("media_id", ""))
        if upload is None or upload.get("owner") != account.target_id:
            return _json(x_problem(400, "Invalid Request", "unknown media id"), 400)
        media_id = parts[3] if len(parts) > 3 else request.args["media_id"]
        if request.method == "POST" and parts[4:] == ["append"]:
            segment = request.files.get("media")
            upload["segments"][int(request.form.get("segment_index", 0))] = segment.read() if segment else b""
            return self._answer(request, "x", account, {"segment_index": request.form.get("segment_index")}, 200, {})
        if request.method == "POST" and parts[4:] == ["finalize"]:
            received = sum(len(s) for s in upload["segments"].values())
            if received != upload["length"]:
                return self._answer(request, "x", account, {}, 400, x_problem(
                    400, "Invalid Request", f"received {received} of {upload['length']} bytes"))
            video = upload["type"].startswith("video/")
            upload["state"] = "pending" if video else "succeeded"
            data = {"id": media_id, "media_key": f"3_{media_id}", "size": received, "expires_after_secs": 86400}
            if video:
                data["processing_info"] = {"state": "pending", "check_after_secs": 1}
            return self._answer(request, "x", account, {}, 200, {"data": data})
        if request.method == "GET" and request.args.get("command") == "STATUS":
            upload["state"] = "succeeded"
            return _json({"data": {"id": media_id, "processing_info": {"state": "succeeded", "progress_percent": 100}}})
        return _json(x_problem(400, "Invalid Request", "unknown media upload command"), 400)

    def _x_me(self, request: Request) -> Response:
        account = self._account(request, "x")
        if account is None:
            return _json(x_problem(401, "Unauthorized", "Unauthorized"), 401)
        return _json({"data": {"id": account.target_id, "name": f"Sandbox {account.account_id}",
                               "username": account.account_id.replace("-", "_")}})

    def _x_user_tweets(self, request: Request, user_id: str) -> Response:
        account = self._account(request, "x")
        if account is None or account.target_id != user_id:
            return _json(x_problem(401, "Unauthorized", "Unauthorized"), 401)
        start, end = request.args.get("start_time"), request.args.get("end_time")
        since = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else datetime.min.replace(
            tzinfo=UTC)
        until = datetime.fromisoformat(end.replace("Z", "+00:00")) if end else datetime.max.replace(tzinfo=UTC)
        tweets = [{"id": p["id"], "text": p["text"], "created_at": p["at"].strftime("%Y-%m-%dT%H:%M:%S.000Z")}
                  for p in self._posts(account) if since <= p["at"] <= until]
        tweets = list(reversed(tweets))[: int(request.args.get("max_results", 10))]
        return _json({"data": tweets, "meta": {"result_count": len(tweets)}} if tweets else
                     {"meta": {"result_count": 0}})

    def _x_window(self, account: Account) -> tuple[datetime, int]:
        now = self.clock.now()
        with self._lock:
            start, used = self.state.x_window.get(account.target_id, (now, 0))
            if now - start >= X_WINDOW:
                start, used = now, 0
                self.state.x_window[account.target_id] = (start, used)
            return start, used

    # ---- WhatsApp -----------------------------------------------------------------------------
    def _whatsapp_message(self, request: Request, phone_number_id: str) -> Response:
        body = request.get_json(silent=True) or {}
        account = self._account(request, "whatsapp")
        if account is None or account.target_id != phone_number_id:
            return self._answer(request, "whatsapp", account, body, 401, graph_error(
                190, "Error validating access token: the token does not belong to this phone number."))
        if body.get("messaging_product") != "whatsapp":
            return self._answer(request, "whatsapp", account, body, 400,
                                graph_error(100, "(#100) The parameter messaging_product is required."))
        recipient = str(body.get("to", "")).lstrip("+")
        if not recipient.isdigit():
            return self._answer(request, "whatsapp", account, body, 400,
                                graph_error(131009, "(#131009) Parameter value is not valid", details="to"))
        fault = self._fault("whatsapp", account, body)
        if fault and fault.kind != "timeout_after_send":
            return self._fail(request, "whatsapp", account, body, fault)
        now = self.clock.now()
        with self._lock:
            last = self.state.last_outbound.get((phone_number_id, recipient))
            inbound = self.state.last_inbound.get(recipient)
        if self._over_throughput(phone_number_id, now):
            return self._answer(request, "whatsapp", account, body, 400, RESPONSES["whatsapp"]["rate_limit"][1])
        if recipient in self.state.stopped and body.get("type") == "template":
            return self._answer(request, "whatsapp", account, body, 400, graph_error(
                131050, "Unable to deliver the message. This recipient has chosen to stop receiving marketing "
                        "messages on WhatsApp from your business."))
        if last is not None and now - last < PAIR_RATE:
            return self._answer(request, "whatsapp", account, body, 400, RESPONSES["whatsapp"]["pair_rate"][1])
        if body.get("type") == "template":
            problem = self._template_problem(body.get("template") or {})
            if problem:
                return self._answer(request, "whatsapp", account, body, 400, problem)
        elif inbound is None or now - inbound > CUSTOMER_WINDOW:
            return self._answer(request, "whatsapp", account, body, 400, RESPONSES["whatsapp"]["outside_window"][1])
        with self._lock:
            self.state.last_outbound[(phone_number_id, recipient)] = now
        message_id = f"wamid.SANDBOX{next(self._ids)}"
        self._remember(account, message_id, json.dumps(body, ensure_ascii=False))
        self._status_webhooks(phone_number_id, message_id, recipient, body.get("biz_opaque_callback_data"))
        return self._answer(request, "whatsapp", account, body, 200, {
            "messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": recipient}],
            "messages": [{"id": message_id, "message_status": "accepted"}]}, slow=fault is not None)

    def set_throughput(self, phone_number_id: str, per_second: int) -> None:
        """Meta upgrades a number from 80 messages a second up to 1,000."""
        with self._lock:
            self.state.throughput[phone_number_id] = per_second

    def _over_throughput(self, phone_number_id: str, now: datetime) -> bool:
        """80 messages a second per business number (or what set_throughput says) in any one second; over it,
        130429."""
        with self._lock:
            recent = [t for t in self.state.sent_at.get(phone_number_id, []) if now - t < timedelta(seconds=1)]
            recent.append(now)
            self.state.sent_at[phone_number_id] = recent
            return len(recent) > self.state.throughput.get(phone_number_id, WHATSAPP_THROUGHPUT)

    def _template_problem(self, template: dict[str, Any]) -> dict[str, Any] | None:
        name = template.get("name")
        if name not in self.state.templates:
            return graph_error(132001, "Template name does not exist in the translation",
                               details=f"template name ({name}) does not exist in hi")
        given = sum(len(c.get("parameters", [])) for c in template.get("components", []) if c.get("type") == "body")
        expected = self.state.templates[name]
        if given != expected:
            return graph_error(132000, "Number of parameters does not match the expected number of params",
                               details=f"body: number of localizable_params ({given}) does not match the "
                                       f"expected number of params ({expected})")
        return None

    # ---- shared -------------------------------------------------------------------------------
    def _account(self, request: Request, platform: str) -> Account | None:
        token = _token(request)
        with self._lock:
            credentials = self.state.oauth1.get(token)
            if credentials and not _valid_oauth1_signature(request, credentials):
                return None
            account = self.state.accounts_by_token.get(token)
        return account if account and account.platform == platform else None

    def _fault(self, platform: str, account: Account, body: Any) -> Fault | None:
        with self._lock:
            for fault in self.state.faults:
                if fault.matches(platform, account.account_id, body):
                    fault.fired += 1
                    return fault
        return None

    def _fail(self, request: Request, platform: str, account: Account, body: Any, fault: Fault,
              created: str | None = None) -> Response:
        kind = "server_error" if fault.kind == "server_error_after_send" else fault.kind
        status, answer = RESPONSES[platform][kind]
        headers = {}
        if platform == "facebook" and fault.kind == "rate_limit":
            usage = {account.target_id: [{"type": "pages", "call_count": 100, "total_cputime": 40, "total_time": 60,
                                          "estimated_time_to_regain_access": 5}]}
            headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
        return self._answer(request, platform, account, body, status, answer, headers, created=created)

    def visitor_post(self, account_id: str, text: str, visitor_id: str = "100099999") -> None:
        """Someone else posts on the page (Facebook): it shows in /feed, never in /published_posts."""
        with self._lock:
            self.state.posts.setdefault(account_id, []).append(
                {"id": f"{visitor_id}_{next(self._ids)}", "text": text, "at": self.clock.now(), "from": visitor_id})

    def _is_duplicate(self, account: Account, text: str) -> bool:
        horizon = self.clock.now() - DUPLICATE_WINDOW
        return any(p["text"] == text and p["at"] >= horizon and not p.get("from") for p in self._posts(account))

    def _remember(self, account: Account, platform_id: str, text: str) -> None:
        with self._lock:
            self.state.posts.setdefault(account.account_id, []).append(
                {"id": platform_id, "text": text, "at": self.clock.now()})

    def _posts(self, account: Account) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.state.posts.get(account.account_id, []))

    def _answer(self, request: Request, platform: str, account: Account | None, body: Any, status: int,
                answer: dict[str, Any], headers: dict[str, str] | None = None, slow: bool = False,
                created: str | None = None) -> Response:
        with self._lock:
            self.state.requests.append({
                "seq": len(self.state.requests) + 1, "at": self.clock.now().isoformat(), "platform": platform,
                "account_id": account.account_id if account else None, "method": request.method,
                "path": request.path, "body": body, "status": status, "response": answer,
                "response_headers": dict(headers or {}),
                "authorization": "present (masked)" if request.headers.get("Authorization") else "missing",
                **({"created": created} if created else {})})
        if slow:
            time.sleep(self.slow_seconds)  # the work is done; the answer comes after the client gave up
        response = _json(answer, status)
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response


class _GraphHeadersHandler(WSGIRequestHandler):
    """Graph's resumable upload sends `file_offset`; werkzeug drops headers with underscores by default."""

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        if self.headers.get("file_offset") is not None:
            environ["HTTP_FILE_OFFSET"] = self.headers["file_offset"]
        return environ

    def log_request(self, *args: Any, **kwargs: Any) -> None:  # the request log is at /_sandbox/requests
        pass


def _oauth1_parameters(header: str) -> dict[str, str]:
    from urllib.parse import unquote

    return {k: unquote(v) for k, v in re.findall(r'(oauth_[a-z_]+)="([^"]*)"', header)}


def _valid_oauth1_signature(request: Request, credentials: dict[str, str]) -> bool:
    """Sign the same request with the same nonce and timestamp; the signatures must match."""
    from oauthlib.oauth1 import Client

    given = _oauth1_parameters(request.headers.get("Authorization", ""))
    if given.get("oauth_consumer_key") != credentials["consumer_key"]:
        return False
    client = Client(credentials["consumer_key"], client_secret=credentials["consumer_secret"],
                    resource_owner_key=credentials["access_token"],
                    resource_owner_secret=credentials["access_token_secret"],
                    nonce=given.get("oauth_nonce"), timestamp=given.get("oauth_timestamp"))
    _, headers, _ = client.sign(request.url, http_method=request.method)
    return _oauth1_parameters(headers["Authorization"]).get("oauth_signature") == given.get("oauth_signature")


def _token(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    if header.startswith("OAuth oauth_"):
        return _oauth1_parameters(header).get("oauth_token", "")
    for prefix in ("Bearer ", "OAuth "):
        if header.startswith(prefix):
            return header[len(prefix):]
    return request.args.get("access_token", "")


def _x_headers(remaining: int, reset: int) -> dict[str, str]:
    return {"x-rate-limit-limit": str(X_WINDOW_LIMIT), "x-rate-limit-remaining": str(max(remaining, 0)),
            "x-rate-limit-reset": str(reset)}


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, content_type="application/json")
