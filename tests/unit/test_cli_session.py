"""`prachar login`/`logout`, the saved sign-in and the API client, against a tiny HTTP server that plays the campaign's
API and its Cognito pool (as the dashboard reaches them: identity.json, then Cognito's JSON API)."""

from __future__ import annotations

import base64
import json
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner

from local.emulator import free_port
from prachar_cli import api, campaign_cache, i18n, session, settings
from prachar_cli.main import cli

PASSWORD = "right-password-1"
CAMPAIGN = {"campaign": "test-campaign", "teams": [
    {"id": "t", "scope": "constituency/sahada", "members": [{"id": "sahada-02", "name": "विक्रम", "role": "member"}]}]}


def fake_token(member: str, lifetime: float, serial: int) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    now = int(time.time())  # as Cognito's: issued at (iat) and expiring at (exp), by the pool's clock
    return ".".join([part({"alg": "RS256"}), part({"cognito:username": member, "token_use": "id", "iat": now,
                                                   "exp": int(now + lifetime), "n": serial}), "sig"])


@dataclass
class World:
    """What the fake API and pool know, and what they were asked."""

    url: str = ""
    id_lifetime: float = 3600.0
    users: dict[str, str] = field(default_factory=lambda: {"sahada-02": PASSWORD, "new-01": "temporary-1"})
    must_change: set[str] = field(default_factory=lambda: {"new-01"})
    valid: dict[str, str] = field(default_factory=dict)      # ID token → member
    refresh: dict[str, str] = field(default_factory=dict)    # refresh token → member
    calls: list[str] = field(default_factory=list)
    serial: int = 0
    config_version: str = "v1"
    now: str = "2021-03-03T03:30:00Z"

    def issue(self, member: str, with_refresh: bool = True) -> dict[str, Any]:
        self.serial += 1
        token = fake_token(member, self.id_lifetime, self.serial)
        self.valid[token] = member
        result = {"IdToken": token, "AccessToken": "access", "ExpiresIn": 3600}
        if with_refresh:
            refresh = f"refresh-{member}-{self.serial}"
            self.refresh[refresh] = member
            result["RefreshToken"] = refresh
        return {"AuthenticationResult": result}


class Handler(BaseHTTPRequestHandler):
    world: World

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self) -> None:
        w = self.world
        path = self.path.split("?", 1)[0]
        w.calls.append(f"GET {path}")
        if path == "/health":
            return self._send(200, {"status": "ok", "service": "prachar"})
        if path == "/dashboard/identity.json":
            return self._send(200, {"endpoint": f"{w.url}/cognito/", "client_id": "client-1"})
        member = self._member()
        if member is None:
            return None
        if path == "/api/me":
            return self._send(200, {"member": {"id": member, "name": "विक्रम", "role": "member"},
                                    "team": {"id": "t", "scope": "constituency/sahada"}, "campaign": "test-campaign",
                                    "config_version": w.config_version, "bucket": "b", "max_upload_bytes": 262144,
                                    "now": w.now})
        if path == "/api/campaign":
            return self._send(200, {"campaign": CAMPAIGN, "config_version": w.config_version,
                                    "max_upload_bytes": 262144, "now": w.now})
        if path.startswith("/api/posts/"):
            return self._send(200, {"id": path.rsplit("/", 1)[1], "title": "t", "scope": "constituency/sahada",
                                    "revision": 2, "key": "content/constituency/sahada/p.yaml", "manifest": {}})
        return self._send(404, {"Code": "NotFoundError", "Message": f"no route {path}"})

    def do_POST(self) -> None:
        w = self.world
        body = self._body()
        if self.path.startswith("/cognito"):
            target = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
            assert self.headers.get("Content-Type") == "application/x-amz-json-1.1"
            w.calls.append(f"cognito {target} {body.get('AuthFlow', '')}".strip())
            return self._cognito(target, body)
        w.calls.append(f"POST {self.path}")
        if self._member() is None:
            return None
        if self.path.endswith("/approve"):
            return self._send(409, {"Code": "ConflictError", "Message": "p.yaml was uploaded again: you looked at "
                                    f"revision {body.get('revision')}, it is now revision 3"})
        return self._send(404, {"Code": "NotFoundError", "Message": "no"})

    def _member(self) -> str | None:
        token = self.headers.get("Authorization") or ""
        member = self.world.valid.get(token)
        if member is None:
            self._send(401, {"message": "Unauthorized"})
            return None
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        if claims["exp"] <= time.time():
            self._send(401, {"message": "The incoming token has expired"})
            return None
        return member

    def _cognito(self, target: str, body: dict[str, Any]) -> None:
        w = self.world

        def refuse(kind: str, message: str) -> None:
            self._send(400, {"__type": kind, "message": message}, "application/x-amz-json-1.1")

        if body.get("ClientId") != "client-1":
            return refuse("ResourceNotFoundException", "no such client")
        if target == "InitiateAuth" and body["AuthFlow"] == "USER_PASSWORD_AUTH":
            user, password = body["AuthParameters"]["USERNAME"], body["AuthParameters"]["PASSWORD"]
            if w.users.get(user) != password:
                return refuse("NotAuthorizedException", "Incorrect username or password.")
            if user in w.must_change:
                return self._send(200, {"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": f"session-{user}",
                                        "ChallengeParameters": {}})
            return self._send(200, w.issue(user))
        if target == "InitiateAuth" and body["AuthFlow"] == "REFRESH_TOKEN_AUTH":
            member = w.refresh.get(body["AuthParameters"]["REFRESH_TOKEN"])
            if member is None:
                return refuse("NotAuthorizedException", "Refresh Token has been revoked")
            return self._send(200, w.issue(member, with_refresh=False))
        if target == "RespondToAuthChallenge":
            user = body["ChallengeResponses"]["USERNAME"]
            new = body["ChallengeResponses"]["NEW_PASSWORD"]
            if body.get("Session") != f"session-{user}":
                return refuse("NotAuthorizedException", "Invalid session for the user.")
            if len(new) < 10:
                return refuse("InvalidPasswordException", "Password did not conform with policy: too short")
            w.users[user] = new
            w.must_change.discard(user)
            return self._send(200, w.issue(user))
        if target == "RevokeToken":
            w.refresh.pop(body.get("Token"), None)
            return self._send(200, {})
        return refuse("InvalidParameterException", target)


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    handler = type("BoundHandler", (Handler,), {"world": w})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    w.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield w
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PRACHAR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PRACHAR_LANG", raising=False)
    i18n.choose("en")
    return tmp_path / "home"


def run(*arguments: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["--lang", "en", *arguments], input=stdin, catch_exceptions=False)


def sign_in(world: World, member: str = "sahada-02"):
    return run("login", "--api", world.url, "--member", member, "--password-stdin", stdin=PASSWORD + "\n")


# ---- signing in -------------------------------------------------------------------------------------------------
def test_login_signs_in_with_cognito_saves_the_tokens_privately_and_says_who(world, home):
    done = sign_in(world)
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "Signed in as sahada-02 (विक्रम), member of constituency/sahada, campaign test-campaign." in said
    assert world.calls[:4] == ["GET /health", "GET /dashboard/identity.json", "cognito InitiateAuth USER_PASSWORD_AUTH",
                               "GET /api/me"]
    saved = session.current()
    assert saved is not None and saved.member == "sahada-02" and saved.api == world.url + "/"
    assert saved.id_token in world.valid and saved.refresh_token in world.refresh
    for name in ("session.json", "settings.json", "campaign.json"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    # No token is ever printed, nor shown by the session's repr.
    assert saved.id_token not in done.output and saved.refresh_token not in done.output
    assert saved.id_token not in repr(saved) and saved.refresh_token not in repr(saved)
    assert settings.load() == settings.Settings(api=world.url + "/", member="sahada-02")


def test_login_remembers_the_api_and_member_for_the_next_time(world):
    assert sign_in(world).exit_code == 0
    again = run("login", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.exit_code == 0, again.output
    assert "Signed in as sahada-02" in again.output


def test_an_api_address_typed_with_its_api_suffix_finds_the_api_above_it(world):
    done = run("login", "--api", world.url + "/api", "--member", "sahada-02", "--password-stdin",
               stdin=PASSWORD + "\n")
    assert done.exit_code == 0, done.output
    assert session.current().api == world.url + "/"


def test_a_wrong_password_is_said_plainly_and_nothing_is_saved(world):
    done = run("login", "--api", world.url, "--member", "sahada-02", "--password-stdin", stdin="wrong\n")
    assert done.exit_code == 1
    assert "Wrong member id or password." in done.stderr
    assert session.current() is None


def test_a_first_sign_in_sets_a_new_password_from_the_second_line_of_stdin(world):
    done = run("login", "--api", world.url, "--member", "new-01", "--password-stdin",
               stdin="temporary-1\nmy-own-password-9\n")
    assert done.exit_code == 0, done.output
    assert world.users["new-01"] == "my-own-password-9"
    assert "cognito RespondToAuthChallenge" in world.calls
    assert session.current().member == "new-01"


def test_a_first_sign_in_without_a_new_password_says_how_to_give_one(world):
    done = run("login", "--api", world.url, "--member", "new-01", "--password-stdin", stdin="temporary-1\n")
    assert done.exit_code == 1
    assert "choose a new password and give it on the second line of stdin" in " ".join(done.stderr.split())


def test_a_refused_new_password_is_asked_for_again_with_cognitos_reason(world):
    asked: list[str | None] = []

    def new_password(problem: str | None) -> str:
        asked.append(problem)
        return "short" if len(asked) == 1 else "long-enough-password-1"

    signed = session.sign_in(world.url + "/", "new-01", "temporary-1", new_password=new_password)
    assert asked == [None, "Password did not conform with policy: too short"]
    assert signed.id_token in world.valid


def test_login_to_an_address_that_does_not_answer_says_so(world):
    port = free_port()
    done = run("login", "--api", f"http://127.0.0.1:{port}", "--member", "sahada-02", "--password-stdin",
               stdin=PASSWORD + "\n")
    assert done.exit_code == 1
    assert f"the API at http://127.0.0.1:{port}/ does not answer (connection refused)." in done.stderr


# ---- using the API as the signed-in member ----------------------------------------------------------------------
def test_a_401_renews_the_id_token_with_the_refresh_token_and_tries_again(world):
    assert sign_in(world).exit_code == 0
    before = session.current()
    world.valid.pop(before.id_token)  # the API no longer takes it (as when it has expired)
    me = api.signed_in().get("api/me")
    assert me["member"]["id"] == "sahada-02"
    after = session.current()
    assert after.id_token != before.id_token and after.id_token in world.valid
    assert after.refresh_token == before.refresh_token  # Cognito gives no new one: the old one is kept
    assert world.calls[-3:] == ["GET /api/me", "cognito InitiateAuth REFRESH_TOKEN_AUTH", "GET /api/me"]


def test_an_id_token_near_its_end_is_renewed_before_the_call(world):
    world.id_lifetime = 30  # inside the renewal margin
    assert sign_in(world).exit_code == 0
    world.id_lifetime = 3600
    world.calls.clear()
    api.signed_in().get("api/me")
    assert world.calls == ["cognito InitiateAuth REFRESH_TOKEN_AUTH", "GET /api/me"]


def test_when_renewing_fails_the_member_is_asked_to_sign_in_again(world):
    assert sign_in(world).exit_code == 0
    current = session.current()
    world.valid.clear()
    world.refresh.clear()
    done = run("status")
    assert done.exit_code == 1
    assert "Your sign-in has expired. Sign in again: prachar login" in done.stderr
    assert current.refresh_token not in done.stderr


def test_the_apis_refusal_is_printed_as_it_is_and_exits_1(world):
    assert sign_in(world).exit_code == 0
    done = run("approve", "abc123")
    assert done.exit_code == 1
    assert "p.yaml was uploaded again: you looked at revision 2, it is now revision 3" in " ".join(done.stderr.split())
    assert "POST /api/posts/abc123/approve" in world.calls


def test_a_command_before_signing_in_asks_to_sign_in(world):
    done = run("pending")
    assert done.exit_code == 1
    assert "You are not signed in. Sign in again: prachar login" in done.stderr


def test_an_api_that_stopped_answering_is_named(world, home):
    assert sign_in(world).exit_code == 0
    port = free_port()
    session.save(session.Session(**{**session.current().__dict__, "api": f"http://127.0.0.1:{port}/"}))
    done = run("status")
    assert done.exit_code == 1
    assert f"the API at http://127.0.0.1:{port}/ does not answer (connection refused)." in done.stderr


def test_logout_forgets_the_sign_in_revokes_the_refresh_token_and_keeps_the_address(world, home):
    assert sign_in(world).exit_code == 0
    refresh = session.current().refresh_token
    done = run("logout")
    assert done.exit_code == 0 and "Signed out (sahada-02)." in done.output
    assert session.current() is None and not (home / "session.json").exists()
    assert refresh not in world.refresh
    assert settings.load().api == world.url + "/"
    assert "You were not signed in." in run("logout").output
    assert "Sign in again: prachar login" in run("status").stderr


def test_a_torn_session_file_is_as_good_as_none(home):
    home.mkdir(parents=True)
    (home / "session.json").write_text("{not json")
    assert session.current() is None


# ---- the API's address ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "base"), [
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000/"),
    ("127.0.0.1:8000/", "http://127.0.0.1:8000/"),
    ("https://abc.execute-api.ap-south-1.amazonaws.com/api/", "https://abc.execute-api.ap-south-1.amazonaws.com/api/"),
    ("abc.execute-api.ap-south-1.amazonaws.com/api", "https://abc.execute-api.ap-south-1.amazonaws.com/api/"),
    ("https://abc.execute-api.ap-south-1.amazonaws.com/api/dashboard", "https://abc.execute-api.ap-south-1.amazonaws.com/api/"),
])
def test_the_api_address_is_taken_as_chalice_prints_it_or_as_typed(typed, base):
    assert settings.normalize_api(typed) == base


def test_the_pool_region_is_read_from_cognitos_endpoint():
    signed = session.Session(api="x/", member="m", endpoint="https://cognito-idp.ap-south-1.amazonaws.com/",
                             client_id="c", id_token="t", refresh_token=None, signed_in_at=0)
    assert signed.region == "ap-south-1"


# ---- the campaign cache -----------------------------------------------------------------------------------------
def test_nothing_cached_before_a_sign_in_and_refreshing_quietly_never_raises(world, home):
    assert campaign_cache.cached() is None
    assert campaign_cache.refresh_quietly() is None
    home.mkdir(parents=True, exist_ok=True)
    (home / "campaign.json").write_text("[]")
    assert campaign_cache.cached() is None


def test_the_cache_holds_the_campaign_the_systems_clock_and_the_members_scope(world):
    assert sign_in(world).exit_code == 0
    entry = campaign_cache.cached()
    assert entry.document == CAMPAIGN and entry.version == "v1" and entry.team_scope == "constituency/sahada"
    assert entry.max_upload_bytes == 262144 and entry.fetched_at.tzinfo is not None
    # The system's clock is 2021's (the local stack's replay): the offset takes this machine's clock to it.
    assert abs((entry.system_now() - campaign_cache.parse_time(world.now)).total_seconds()) < 60


def test_the_campaign_is_fetched_again_only_when_its_version_changes(world):
    assert sign_in(world).exit_code == 0
    world.calls.clear()
    assert campaign_cache.refresh_quietly().version == "v1"
    assert world.calls == ["GET /api/me"]
    world.config_version = "v2"
    assert campaign_cache.refresh_quietly().version == "v2"
    assert world.calls[-2:] == ["GET /api/me", "GET /api/campaign"]


def test_refreshing_quietly_keeps_the_cache_when_the_api_is_away(world):
    assert sign_in(world).exit_code == 0
    port = free_port()
    session.save(session.Session(**{**session.current().__dict__, "api": f"http://127.0.0.1:{port}/"}))
    kept = campaign_cache.refresh_quietly(timeout=1)
    assert kept is not None and kept.version == "v1"


def test_the_help_of_these_commands_imports_nothing_heavy():
    """`prachar <command> --help` stays quick: rich, boto3 and the domain are imported only when a command runs."""
    import subprocess
    import sys

    probe = """
import sys
from prachar_cli.main import cli
heavy = {"rich", "pydantic", "boto3", "botocore", "chalicelib", "yaml", "urllib3"}
for name in ("login", "logout", "upload", "status", "pending", "approve", "reject", "pause", "resume"):
    try:
        cli([name, "--help"])
    except SystemExit:
        pass
print(sorted({m.split('.')[0] for m in sys.modules} & heavy))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


# ---- where the password and the tokens go (review 16) -------------------------------------------------------------
@pytest.mark.parametrize(("typed", "base"), [
    ("localhost:8000", "http://localhost:8000/"),
    ("[::1]:8000", "http://[::1]:8000/"),
    ("127.5.6.7:8000", "http://127.5.6.7:8000/"),
    ("http://LOCALHOST:8000/api", "http://localhost:8000/api/"),
    ("localhost.example.org:8000", "https://localhost.example.org:8000/"),
    ("127.0.0.1.nip.io", "https://127.0.0.1.nip.io/"),
    ("localhostile.example.org", "https://localhostile.example.org/"),
    ("[::1].example.org", None),
])
def test_only_this_machine_is_spoken_to_in_clear_matched_exactly(typed, base):
    if base is None:
        with pytest.raises(ValueError):
            settings.normalize_api(typed)
    else:
        assert settings.normalize_api(typed).lower() == base.lower()


@pytest.mark.parametrize("typed", ["http://prachar.example.org", "http://127.0.0.1.nip.io:8000/",
                                   "http://localhost.example.org/api", "http://192.168.1.5:8000",
                                   "https://prachar-api.example.org@elsewhere.example.net/", "ftp://127.0.0.1/", ""])
def test_plain_http_to_another_machine_and_look_alike_addresses_are_refused(typed):
    with pytest.raises(ValueError):
        settings.normalize_api(typed)


def test_a_refused_address_is_said_in_the_chosen_language():
    done = CliRunner().invoke(cli, ["--lang", "hi", "login", "--api", "http://prachar.example.org", "--member", "m",
                                    "--password-stdin"], input="x\n")
    assert done.exit_code == 2
    assert "सादा http" in done.output and "plain http" not in done.output


@pytest.mark.parametrize(("endpoint", "region"), [
    ("https://cognito-idp.ap-south-1.amazonaws.com/", "ap-south-1"),
    ("https://cognito-idp.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
    ("https://cognito-idp.ap-south-1.amazonaws.com:443/", "ap-south-1"),
    ("http://cognito-idp.ap-south-1.amazonaws.com/", None),
    ("https://cognito-idp.ap-south-1.amazonaws.com.example.net/", None),
    ("https://evil.example.net/cognito-idp.ap-south-1.amazonaws.com/", None),
    ("https://x@cognito-idp.ap-south-1.amazonaws.com/", None),
    ("https://cognito-idp.ap-south-1.amazonaws.com@evil.example.net/", None),
    ("https://cognito-idp.ap-south-1.amazonaws.com/collect", None),
    ("https://cognito-idp.ap-south-1.amazonaws.com:8443/", None),
])
def test_cognitos_endpoint_is_recognised_exactly(endpoint, region):
    assert session.cognito_region(endpoint) == region


def test_a_sign_in_on_this_machine_is_taken_only_for_an_api_on_this_machine():
    assert session.endpoint_refusal("http://127.0.0.1:4566/", "http://127.0.0.1:8000/") is None
    assert session.endpoint_refusal("http://localhost:4566", "http://[::1]:8000/") is None
    # A deployed API that names this machine as its sign-in is not the campaign's.
    assert session.endpoint_refusal("http://127.0.0.1:4566/", "https://prachar.example.org/")
    assert session.endpoint_refusal("https://login.example.net/", "https://prachar.example.org/")
    # Cognito's own endpoint is taken for any API (the local stack may sign in with a real pool too).
    assert session.endpoint_refusal("https://cognito-idp.ap-south-1.amazonaws.com/", "http://127.0.0.1:8000/") is None


def test_a_refresh_token_is_never_sent_to_an_endpoint_that_is_not_cognitos(monkeypatch):
    """A session.json saved before the endpoint was checked (or edited by hand) does not send its refresh token."""
    sent: list[str] = []
    monkeypatch.setattr(session, "fetch", lambda method, url, **kwargs: sent.append(url))
    saved = session.Session(api="https://prachar.example.org/", member="m", endpoint="https://login.example.net/",
                            client_id="c", id_token="t", refresh_token="r", signed_in_at=0)
    with pytest.raises(api.SignInNeeded):
        session.renew(saved)
    assert session.revoke(saved) is False
    assert sent == []


def test_login_says_where_the_password_goes_before_asking_for_it(world):
    done = sign_in(world)
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert (f"Your password goes to the local stack's sign-in at {world.url}/cognito/ (app client client-1) — never "
            f"to the API at {world.url}/.") in said
    assert session.where("https://cognito-idp.ap-south-1.amazonaws.com/", "client-1") == (
        "Amazon Cognito in ap-south-1 (https://cognito-idp.ap-south-1.amazonaws.com/, app client client-1)")


def test_an_api_naming_another_sign_in_is_refused_before_the_password_is_read(world, monkeypatch):
    real = session.fetch

    def phishing(method, url, **kwargs):
        if url.endswith("dashboard/identity.json"):
            return api.Answer(200, {"endpoint": "https://login.example.net/", "client_id": "client-1"}, "")
        return real(method, url, **kwargs)

    monkeypatch.setattr(session, "fetch", phishing)
    done = run("login", "--api", world.url, "--member", "sahada-02", "--password-stdin", stdin=PASSWORD + "\n")
    assert done.exit_code == 1
    assert "names https://login.example.net/ as the campaign's sign-in, which is not Amazon Cognito" in " ".join(
        done.stderr.split())
    assert not any(call.startswith("cognito") for call in world.calls)


def test_a_redirect_is_not_followed_and_is_named(world, monkeypatch):
    assert sign_in(world).exit_code == 0
    monkeypatch.setattr(api, "fetch", lambda *a, **k: api.Answer(302, None, "", "https://elsewhere.example.net/x"))
    with pytest.raises(api.ApiError, match="redirect \\(HTTP 302\\) to https://elsewhere.example.net/x, which is not"):
        api.signed_in().get("api/me")


def test_a_session_saved_for_plain_http_to_another_machine_sends_no_token(world, monkeypatch):
    assert sign_in(world).exit_code == 0
    session.save(session.Session(**{**session.current().__dict__, "api": "http://prachar.example.org/"}))
    monkeypatch.setattr(api, "fetch", lambda *a, **k: pytest.fail("the token was sent"))
    done = run("status")
    assert done.exit_code == 1 and "plain http to another machine" in " ".join(done.stderr.split())


# ---- a laptop's clock (review 16) ---------------------------------------------------------------------------------
@pytest.mark.parametrize("skew", [-7200, 0, 7200])
def test_a_tokens_end_is_judged_by_the_time_passed_here_against_its_own_lifetime(skew):
    issued = 1_600_000_000  # the pool's clock
    token = fake_token_at(issued, 3600)
    here = issued + skew  # this machine's clock when the token came
    signed = session.Session(api="x/", member="m", endpoint="e", client_id="c", id_token=token, refresh_token="r",
                             signed_in_at=here, obtained_at=here)
    assert not signed.expires_within(60, now=here + 10)
    assert not signed.expires_within(60, now=here + 3500)
    assert signed.expires_within(60, now=here + 3541)
    # Without iat (or a session saved before obtained_at was kept), only exp and this machine's clock can tell.
    older = session.Session(**{**signed.__dict__, "obtained_at": None})
    assert older.expires_within(60, now=issued + 3541) and not older.expires_within(60, now=issued + 10)


def fake_token_at(issued: int, lifetime: int) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return ".".join([part({"alg": "RS256"}), part({"iat": issued, "exp": issued + lifetime}), "sig"])


def test_a_clock_hours_ahead_renews_nothing_and_a_renewal_keeps_when_it_was_obtained(world, monkeypatch):
    real = time.time
    monkeypatch.setattr(session, "time", type("Clock", (), {"time": staticmethod(lambda: real() + 7200)}))
    assert sign_in(world).exit_code == 0
    world.calls.clear()
    client = api.signed_in()
    for _ in range(5):
        client.get("api/me")
    assert world.calls == ["GET /api/me"] * 5
    world.valid.pop(client.session.id_token)  # the API stops taking it: one renewal, which says when it came
    client.get("api/me")
    assert world.calls[-2:] == ["cognito InitiateAuth REFRESH_TOKEN_AUTH", "GET /api/me"]
    assert abs(session.current().obtained_at - (real() + 7200)) < 60


def test_a_client_renews_at_most_once_and_then_asks_to_sign_in(world):
    """The API refusing a token renewed a moment ago is not helped by renewing again: sign in."""
    assert sign_in(world).exit_code == 0
    client = api.signed_in()
    world.valid = type("Refusing", (dict,), {"__setitem__": lambda *a: None})()  # no ID token taken, even a new one
    with pytest.raises(api.SignInNeeded):
        client.get("api/me")
    with pytest.raises(api.SignInNeeded):
        client.get("api/me")
    assert world.calls.count("cognito InitiateAuth REFRESH_TOKEN_AUTH") == 1


# ---- PRACHAR_HOME (review 16) -------------------------------------------------------------------------------------
def test_prachar_home_is_made_private(home):
    settings.save(settings.Settings(api="https://prachar.example.org/", member="m"))
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "settings.json").stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o755, 0o777, 0o770])
def test_a_prachar_home_of_ones_own_that_others_may_enter_is_made_private_again(home, mode):
    home.mkdir()
    home.chmod(mode)
    assert settings.load() == settings.Settings()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_a_prachar_home_of_someone_elses_is_refused_in_the_chosen_language(home, monkeypatch):
    home.mkdir()
    (home / "settings.json").write_text('{"api": "https://phish.example.net/", "member": "m"}')
    owner = home.stat().st_uid
    monkeypatch.setattr(settings.os, "getuid", lambda: owner + 1)
    with pytest.raises(settings.UnsafeHome, match="belongs to another user"):
        settings.load()
    with pytest.raises(settings.UnsafeHome):
        settings.save(settings.Settings(api="https://prachar.example.org/"))
    done = CliRunner().invoke(cli, ["--lang", "hi", "login", "--password-stdin"], input="x\n")
    assert done.exit_code == 1 and "किसी दूसरे उपयोगकर्ता का है" in done.stderr
    assert "phish" not in done.output


def test_a_file_someone_else_put_in_prachar_home_is_not_believed(home, monkeypatch):
    home.mkdir(mode=0o700)
    (home / "settings.json").write_text('{"api": "https://phish.example.net/", "member": "m"}')
    real_fstat = settings.os.fstat

    class SomeoneElses:  # the file's real status, but another user's
        def __init__(self, real: Any) -> None:
            self.real = real

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

        @property
        def st_uid(self) -> int:
            return self.real.st_uid + 1

    monkeypatch.setattr(settings.os, "fstat", lambda fd: SomeoneElses(real_fstat(fd)))
    with pytest.raises(settings.UnsafeHome, match="belongs to another user"):
        settings.load()
