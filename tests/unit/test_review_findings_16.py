"""Review 16: `prachar`, the volunteers' command line, attacked from a volunteer's side and an attacker's.

Each test reproduces one finding; each failed on the code as reviewed (30ec980..51e0e88) and passes since the fixes.
Fast: click's CliRunner, a fake API and a fake S3 (recording what would be stored under which key), or the session
module with its HTTP calls replaced.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from prachar_cli import api, campaign_cache, i18n, session, settings, uploading
from prachar_cli.api import Answer
from prachar_cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = ROOT / "tests" / "support" / "campaign.yaml"
AT = "2021-03-03T09:00:00+05:30"
SCOPE = "constituency/sahada"
ME = {"member": {"id": "sahada-02", "name": "विक्रम", "role": "member"},
      "team": {"id": "sahada-it-cell", "scope": SCOPE}, "campaign": "test-campaign", "config_version": "v1",
      "bucket": "prachar-test-content", "max_upload_bytes": 256 * 1024, "now": "2021-03-03T03:30:00Z"}


@pytest.fixture(autouse=True)
def own_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PRACHAR_HOME", str(tmp_path / "prachar-home"))
    monkeypatch.delenv("PRACHAR_LANG", raising=False)
    i18n.choose("en")


# ---- fakes: the API as the signed-in member, and S3 ---------------------------------------------------------------
class FakeS3:
    """What S3 would store: key → bytes. Every upload gets its own version id."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.order: list[str] = []

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        self.objects[Key] = Body
        self.order.append(Key)
        return {"ETag": f'"{hashlib.md5(Body).hexdigest()}"', "VersionId": f"v{len(self.order)}"}

    def upload_file(self, filename: str, bucket: str, key: str, ExtraArgs: Any = None, Config: Any = None,
                    Callback: Any = None) -> None:
        body = Path(filename).read_bytes()
        self.objects[key] = body
        self.order.append(key)
        if Callback:
            Callback(len(body))


class FakeClient:
    """GET /api/me, and GET /api/uploads answering every upload at once as accepted."""

    def __init__(self, me: dict[str, Any] | None = None) -> None:
        self.me = me or ME
        self.session = SimpleNamespace(region="ap-south-1")
        self.asked: list[dict[str, Any]] = []

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        if path == "api/me":
            return self.me
        if path == "api/uploads":
            self.asked.append(dict(params or {}))
            return {"answered": True, "key": params["key"], "outcome": "accepted", "content_ids": ["c1"],
                    "accounts": ["fb-sahada"], "answered_at": "2021-03-03T03:30:01Z"}
        raise AssertionError(path)


def upload(monkeypatch, *arguments: str, me: dict[str, Any] | None = None) -> tuple[Any, FakeS3, FakeClient]:
    s3, client = FakeS3(), FakeClient(me)
    monkeypatch.setattr(api, "signed_in", lambda timeout=api.TIMEOUT: client)
    monkeypatch.setattr(uploading, "s3_client", lambda region: s3)
    result = CliRunner().invoke(cli, ["--lang", "en", "upload", "--timeout", "0", *arguments])
    return result, s3, client


def check(*arguments: str, lang: str = "en") -> Any:
    return CliRunner().invoke(cli, ["--lang", lang, "check", "--config", str(CAMPAIGN), "--scope", SCOPE, "--at", AT,
                                    *arguments])


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


POST = "title: {title}\ntext: {text}\nmedia: [poster.png]\npublish_at: 2021-03-05T09:00:00+05:30\n"


# ---- 1. two local files, one key: the upload silently keeps one ----------------------------------------------------
def test_two_manifests_of_the_same_name_from_two_folders_are_not_silently_reduced_to_one(tmp_path, monkeypatch):
    """`prachar upload mon/post.yaml tue/post.yaml` (a volunteer's week in folders, each day's post.yaml): both map to
    content/<scope>/post.yaml. `prachar check` judges both (two ✓), but files.plan_files keeps the first file per key
    (`others.setdefault`), so tuesday's post is never uploaded — and the command says nothing and exits 0 with
    monday's answer. A volunteer believes two posts are scheduled; one is. It must refuse (two files, one key) or
    upload both under keys of their own."""
    monday = write(tmp_path / "mon" / "post.yaml", POST.format(title="सोमवार", text="सोमवार की पोस्ट"))
    tuesday = write(tmp_path / "tue" / "post.yaml", POST.format(title="मंगलवार", text="मंगलवार की पोस्ट"))
    write(tmp_path / "mon" / "poster.png", b"\x89PNG monday")
    write(tmp_path / "tue" / "poster.png", b"\x89PNG tuesday")
    checked = check("--json", str(monday), str(tuesday))
    # Adjusted: as reviewed, this line asserted two ✓ (what the check said then). The fix refuses two different files
    # for one key in `prachar check` as in `prachar upload` — a ✓ for a pair the upload refuses would be the check and
    # the upload parting ways — so the check now names the clash on both files.
    assert checked.exit_code == 1 and [v["ok"] for v in json.loads(checked.stdout)] == [False, False]
    assert all("would both be uploaded as" in json.dumps(v["problems"]) for v in json.loads(checked.stdout))

    result, s3, _ = upload(monkeypatch, str(monday), str(tuesday))
    uploaded_bodies = set(s3.objects.values())
    assert result.exit_code != 0 or tuesday.read_bytes() in uploaded_bodies, (
        f"exit {result.exit_code}; tuesday's post.yaml was dropped without a word; S3 holds {sorted(s3.objects)}")


def test_the_media_uploaded_is_the_one_the_check_measured(tmp_path, monkeypatch):
    """`prachar upload shared/poster.png week/post.yaml`: the poster given on the command line and the poster next to
    the manifest (the one its `media: [poster.png]` points at, and the one `prachar check` measured) share the key
    content/<scope>/poster.png. plan_files keeps whichever came first, so the bytes that go out under the manifest's
    poster are not the bytes that were checked: here the check refuses week/post.yaml (its poster is over WhatsApp's
    and X's 5 MB) while the upload sends the small shared/poster.png and the post is accepted — or, the other way
    round, a checked ✓ post is published with an image nobody checked (or is refused for its size). The published
    image must be the one next to the manifest, or the command must refuse the clash."""
    shared = write(tmp_path / "shared" / "poster.png", b"\x89PNG small")
    post = write(tmp_path / "week" / "post.yaml", POST.format(title="बजट", text="बजट घोषणा"))
    with (tmp_path / "week" / "poster.png").open("wb") as big:
        big.truncate(6 * 1024 * 1024)
    checked = check("--json", str(post))
    assert checked.exit_code == 1, "the check measured week/poster.png: too large for WhatsApp and X"

    result, s3, _ = upload(monkeypatch, str(shared), str(post))
    sent = s3.objects.get(f"content/{SCOPE}/poster.png")
    assert result.exit_code != 0 or sent == (tmp_path / "week" / "poster.png").read_bytes(), (
        f"exit {result.exit_code}; uploaded {len(sent or b'')} bytes of {shared} as the poster of {post}, which the "
        "check judged with week/poster.png")


# ---- 2. --as manifest on a name the system reads as media: exit 0, nothing scheduled ------------------------------
def test_upload_as_manifest_of_a_txt_file_is_not_reported_as_a_success(tmp_path, monkeypatch):
    """`prachar upload --as manifest post.txt` — the help says --as takes every file as this kind "whatever its
    name". The key keeps the name (content/<scope>/post.txt), which the system takes for media and never reads as a
    post; uploading.is_media() agrees, so the command waits for no answer and exits 0 after "uploaded". `prachar check
    --as manifest post.txt` says ✗ for exactly this reason. The volunteer is told nothing went wrong and no post
    exists: the upload must refuse (or rename to .yaml), and never exit 0."""
    post = write(tmp_path / "post.txt", "title: बजट\ntext: बजट घोषणा\n")
    checked = check("--as", "manifest", str(post))
    assert checked.exit_code == 1 and "taken for a media file" in " ".join(checked.output.split())

    result, s3, client = upload(monkeypatch, "--as", "manifest", str(post))
    assert result.exit_code != 0, (f"exit 0 after uploading {sorted(s3.objects)} as media; answers asked for: "
                                   f"{client.asked}; output: {result.output}")


# ---- 3. the system's upload limit is ignored when planning the upload ----------------------------------------------
def test_the_upload_plan_reads_a_manifest_up_to_the_systems_limit_not_the_default(tmp_path, monkeypatch):
    """A stage whose PRACHAR_MAX_UPLOAD_BYTES is 1 MiB: /api/me says so, `prachar check` (the cache's limit) reads a
    300 KB manifest and measures its poster ✓. But commands/upload.plan() calls files.upload_plan without the limit,
    so plan_files uses its 256 KiB default, reads the manifest as b"" and finds no media: the poster next to it is
    never uploaded, and the Lambda refuses the manifest ("poster.png is not in the bucket") — ✓ from the check, ✗
    from the upload."""
    me = {**ME, "max_upload_bytes": 1024 * 1024}
    post = write(tmp_path / "post.yaml", POST.format(title="लंबी पोस्ट", text="सहाड़ा") + "# " + "x" * 300_000 + "\n")
    write(tmp_path / "poster.png", b"\x89PNG poster")
    campaign_cache._save(campaign_cache.CachedCampaign(  # what `prachar login` kept from this stage's /api/me
        document={}, version="v1", fetched_at=datetime.now(UTC), clock_offset=timedelta(0),
        max_upload_bytes=me["max_upload_bytes"], team_scope=SCOPE))
    checked = check("--json", str(post))
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)[0]["media"][0]["bytes"] == len(b"\x89PNG poster")
    result, s3, _ = upload(monkeypatch, str(post), me=me)
    assert f"content/{SCOPE}/poster.png" in s3.objects, (
        f"exit {result.exit_code}: uploaded only {sorted(s3.objects)}; the manifest's poster was left behind")


# ---- 4. a file name that is not UTF-8 ------------------------------------------------------------------------------
@pytest.fixture
def latin1_named(tmp_path) -> Path:
    name = os.fsdecode(b"poster-caf\xe9.yaml")  # a name from a Windows-1252 zip: not UTF-8
    try:
        return write(tmp_path / name, "title: बजट\ntext: बजट घोषणा\n")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system takes only UTF-8 names")


def test_check_does_not_pass_a_file_whose_name_cannot_be_an_s3_key(latin1_named):
    """A manifest named with a non-UTF-8 byte: `prachar check` passes it (✓, exit 0) under the key
    content/<scope>/poster-caf\\udce9.yaml — a key with a lone surrogate, which no S3 object can have: the upload
    cannot even be made. The check promises that what it passes the system accepts; it must refuse the name (and say
    to rename the file)."""
    result = check("--json", str(latin1_named))
    verdicts = json.loads(result.stdout)
    assert result.exit_code == 1 and not verdicts[0]["ok"], f"passed under the key {verdicts[0]['key']!r}"


def test_upload_of_a_file_whose_name_is_not_utf8_ends_in_a_message_not_a_traceback(latin1_named, monkeypatch):
    """The same file through `prachar upload` with boto3's real S3 client (pointed at a closed port: the key is
    refused before any connection): botocore raises UnicodeEncodeError while building the request, which neither
    uploading.send (BotoCoreError, ClientError, S3UploadFailedError, OSError) nor api.reported (CliError) catches —
    the volunteer gets a Python traceback."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "volunteer")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "volunteer")
    client = FakeClient()
    monkeypatch.setattr(api, "signed_in", lambda timeout=api.TIMEOUT: client)
    result = CliRunner().invoke(cli, ["--lang", "en", "upload", "--timeout", "0", str(latin1_named)])
    assert isinstance(result.exception, SystemExit), f"crashed: {result.exception!r}"


# ---- 5. sign-in: where the password and the tokens go -------------------------------------------------------------
class Recorder:
    """session/api's HTTP calls, answered as a Prachar API and a Cognito pool would answer them."""

    def __init__(self, identity: dict[str, str]) -> None:
        self.identity = identity
        self.calls: list[tuple[str, str, dict[str, str], bytes]] = []

    def __call__(self, method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None,
                 timeout: float = 0, what: str | None = None) -> Answer:
        raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        self.calls.append((method, url, dict(headers or {}), raw or b""))
        if url.endswith("/health"):
            return Answer(200, {"status": "ok", "service": "prachar"}, "")
        if url.endswith("dashboard/identity.json"):
            return Answer(200, self.identity, "")
        if (headers or {}).get("X-Amz-Target", "").endswith("InitiateAuth"):
            return Answer(200, {"AuthenticationResult": {"IdToken": token(3600), "RefreshToken": "refresh-1"}}, "")
        if url.endswith("api/me"):
            return Answer(200, ME, "")
        if url.endswith("api/campaign"):
            return Answer(200, {"campaign": {"campaign": "c", "teams": []}, "config_version": "v1"}, "")
        return Answer(404, {"Message": "no"}, "")


def token(lifetime: float, now: float | None = None) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return ".".join([part({"alg": "RS256"}), part({"cognito:username": "sahada-02", "token_use": "id",
                                                   "exp": int((now or time.time()) + lifetime)}), "sig"])


def test_the_password_goes_only_to_cognito_whatever_identity_json_names(monkeypatch):
    """sign_in() posts USERNAME and PASSWORD to whatever `endpoint` GET <api>/dashboard/identity.json names, unchecked
    — any host, plain http included. A typo'd or look-alike API address (prachar-api.example.org for the coordinator's
    real one), a poisoned DNS answer, or anyone on the path of an http:// API, answers identity.json with their own
    "endpoint" and receives every volunteer's password in clear: credential phishing through the sign-in the module
    says sends the password "to Cognito alone". The endpoint must be Cognito's (https://cognito-idp.<region>.
    amazonaws.com/) — or, for the local stack, a loopback address."""
    phish = Recorder({"endpoint": "http://login.prachar-api.example.net/", "client_id": "client-1"})
    monkeypatch.setattr(session, "fetch", phish)
    with pytest.raises(api.CliError):
        session.sign_in("https://prachar-api.example.org/", "sahada-02", "my-secret-password-7",
                        new_password=lambda problem: "unused-password-8")
    leaked = [url for _, url, _, body in phish.calls if b"my-secret-password-7" in body]
    assert not leaked, f"the password was sent to {leaked}"


@pytest.mark.parametrize("typed", ["http://prachar.example.org", "localhost.example.org:8000", "127.0.0.1.nip.io"])
def test_tokens_never_travel_in_clear_to_a_host_that_is_not_this_machine(typed, monkeypatch):
    """`prachar login --api` takes http:// for any host, and makes a bare address http:// whenever it merely *starts*
    with "127." or "localhost" (settings.normalize_api: `text.startswith(("127.", "localhost", "[::1]"))`), so
    localhost.example.org and 127.0.0.1.nip.io — public names — are spoken to in clear. Every later API call then
    carries the member's ID token in the Authorization header over plain HTTP, readable and replayable by anyone on
    the café's Wi-Fi for an hour. Plain http must be for loopback hosts only (refuse, or require an explicit
    --insecure)."""
    recorder = Recorder({"endpoint": "https://cognito-idp.ap-south-1.amazonaws.com/", "client_id": "client-1"})
    monkeypatch.setattr(api, "fetch", recorder)
    monkeypatch.setattr(session, "fetch", recorder)
    CliRunner().invoke(cli, ["--lang", "en", "login", "--api", typed, "--member", "sahada-02", "--password-stdin"],
                       input="my-secret-password-7\n")
    in_clear = [url for _, url, headers, _ in recorder.calls
                if url.startswith("http://") and "Authorization" in headers]
    assert not in_clear, f"the ID token went in clear to {in_clear}"


def test_the_id_token_does_not_follow_a_redirect_to_another_host(monkeypatch):
    """api.fetch uses urllib, whose redirect handler copies every header of the request — Authorization included —
    onto the request to the Location, whatever its host or scheme (https → http too). An API address that answers
    302 (a misrouted custom domain, a captive portal, an http:// API on a hostile network) hands the member's ID
    token to the host it names. The token must be sent to the API's own origin only (add_unredirected_header, or no
    redirects)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    stolen: list[str | None] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            stolen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    elsewhere = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)

    class Redirecting(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{elsewhere.server_address[1]}/collect")
            self.send_header("Content-Length", "0")
            self.end_headers()

    redirecting = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    for server in (elsewhere, redirecting):
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        signed = session.Session(api=f"http://127.0.0.1:{redirecting.server_address[1]}/", member="sahada-02",
                                 endpoint="http://127.0.0.1:9/", client_id="c", id_token=token(3600),
                                 refresh_token=None, signed_in_at=time.time())
        with contextlib.suppress(api.CliError):
            api.Client(signed, timeout=5).get("api/me")
    finally:
        for server in (elsewhere, redirecting):
            server.shutdown()
            server.server_close()
    assert signed.id_token not in stolen, "the ID token was sent to the host the redirect named"


def test_a_laptop_clock_ahead_of_the_world_does_not_renew_the_token_on_every_call(monkeypatch):
    """Client.call renews the ID token when `exp` is within a minute of *this laptop's* time.time(). A volunteer
    laptop two hours fast (a dead CMOS battery, a wrong time zone set by hand — what campaign_cache's clock_offset
    exists for) sees every fresh token as expired: each API call first asks Cognito for a new one
    (REFRESH_TOKEN_AUTH). `prachar upload` polls GET /api/uploads once a second for up to 120 s — a Cognito call per
    poll, until Cognito throttles (TooManyRequestsException) and renew() turns that into "Your sign-in has expired".
    One renewal must be enough: compare against the token's own iat/auth_time, or the server's clock."""
    real = time.time
    monkeypatch.setattr(session, "time", SimpleNamespace(time=lambda: real() + 2 * 3600))
    renewals: list[str] = []

    def renew(current: session.Session, timeout: float = 0) -> session.Session:
        renewals.append(current.id_token)
        return session.Session(**{**current.__dict__, "id_token": token(3600, now=real())})

    monkeypatch.setattr(session, "renew", renew)
    monkeypatch.setattr(api, "fetch", lambda *a, **k: Answer(200, {"answered": False}, ""))
    client = api.Client(session.Session(api="https://prachar.example.org/", member="sahada-02",
                                        endpoint="https://cognito-idp.ap-south-1.amazonaws.com/", client_id="c",
                                        id_token=token(3600, now=real()), refresh_token="refresh-1",
                                        signed_in_at=real()))
    for _ in range(10):  # ten seconds of `prachar upload` waiting for an answer
        client.get("api/uploads", {"key": "content/constituency/sahada/p.yaml", "etag": "e", "version": "v"})
    assert len(renewals) <= 1, f"{len(renewals)} Cognito refreshes for 10 API calls"


def test_a_prachar_home_others_may_write_is_not_used_as_it_is(tmp_path, monkeypatch):
    """settings.write_private keeps an existing PRACHAR_HOME's modes ("an existing folder keeps the modes its owner
    gave it"). PRACHAR_HOME=/srv/shared/prachar on a campaign office's shared machine, or a folder someone else made
    first (mode 0777): session.json is 0600, but anyone can rename it away and put their own settings.json in its
    place — whose `api` the next `prachar login` (without --api) sends the member's password to, through that API's
    identity.json. The command must make the folder private, or refuse a folder others can write."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("PRACHAR_HOME", str(shared))
    settings.save(settings.Settings(api="https://prachar.example.org/", member="sahada-02"))
    mode = stat.S_IMODE(shared.stat().st_mode)
    assert not mode & 0o022, f"PRACHAR_HOME stays {oct(mode)}: others may replace settings.json and session.json"


# ---- 6. a config "unchanged" by a stale cache ------------------------------------------------------------------------
def test_a_config_is_not_called_unchanged_from_a_stale_cache(tmp_path, monkeypatch):
    """`prachar check config/campaign.yaml` (a config alone needs no campaign) reads only the *cached* version
    (`campaign_cache.cached()`, never refresh_quietly): it says "the active campaign config, byte for byte: uploading
    it changes nothing" whenever the file is the config that was active at the last sign-in. If a coordinator has
    activated a newer one since, uploading this file is no no-op: the Lambda accepts it and rolls the campaign back
    (roles, accounts, silences). The check must ask the API (as it does for manifests) before saying "unchanged"."""
    raw = CAMPAIGN.read_bytes()
    stale = campaign_cache.CachedCampaign(document={}, version=hashlib.sha256(raw).hexdigest(),
                                          fetched_at=datetime.now(UTC) - timedelta(days=2),
                                          clock_offset=timedelta(0), max_upload_bytes=256 * 1024, team_scope="state")
    campaign_cache._save(stale)
    fresh = campaign_cache.CachedCampaign(document={}, version="f" * 64, fetched_at=datetime.now(UTC),
                                          clock_offset=timedelta(0), max_upload_bytes=256 * 1024, team_scope="state")
    monkeypatch.setattr(campaign_cache, "refresh_quietly", lambda timeout=3.0: fresh)  # the API: a newer config
    config = write(tmp_path / "campaign.yaml", raw)
    result = CliRunner().invoke(cli, ["--lang", "en", "check", str(config)])
    said = " ".join(result.output.split())
    assert "changes nothing" not in said, said


# ---- 7. Hindi --------------------------------------------------------------------------------------------------------
def test_a_bad_api_address_is_explained_in_hindi(monkeypatch):
    """settings.normalize_api raises its ValueErrors in English only ("… is not an http(s) address", "the API address
    is empty"), and `prachar login` shows them as they are: `prachar --lang hi login --api ftp://…` answers a Hindi
    speaker in English, on the very first command a volunteer types."""
    result = CliRunner().invoke(cli, ["--lang", "hi", "login", "--api", "ftp://prachar.example.org", "--member",
                                      "sahada-02", "--password-stdin"], input="x\n")
    assert result.exit_code == 2
    assert "is not an http(s) address" not in result.output, result.output


@pytest.mark.parametrize(("command", "english"), [
    ("check", "Check manifests, calendars, audience files and the campaign config offline"),
    ("upload", "Upload files under your team's prefix and wait for the system's answer to each manifest"),
    ("login", "Sign in with your campaign member id (the password goes to the campaign's Cognito only)"),
])
def test_each_commands_help_is_in_hindi_with_lang_hi(command, english):
    """The command list of `prachar --lang hi --help` is in Hindi (main.COMMANDS), but each command's own help —
    what it does, every option, the exit statuses — is a fixed English `help=` string: `prachar --lang hi check
    --help` is all English."""
    result = CliRunner().invoke(cli, ["--lang", "hi", command, "--help"])
    assert result.exit_code == 0
    assert english not in " ".join(result.output.split())


def test_a_whatsapp_template_in_the_preview_is_worded_in_hindi(tmp_path):
    """`prachar check --lang hi` on a manifest with a WhatsApp template shows the account line as
    "(team, template budget_update)": commands/check._show_manifest writes ", template " in English only."""
    post = write(tmp_path / "post.yaml", "title: बजट\ntext: बजट घोषणा\nplatforms: [whatsapp]\n"
                                         "publish_at: 2021-03-05T09:00:00+05:30\n"
                                         "overrides:\n  whatsapp: {template: budget_update, params: [सहाड़ा]}\n")
    result = check(str(post), lang="hi")
    assert result.exit_code == 0, result.output
    assert ", template " not in result.output, result.output


# ---- 8. contacts taken for a calendar --------------------------------------------------------------------------------
CONTACTS_ROWS = "+91 98111 00001,सीता,missed call 2021-03,2021-03-01T10:30:00+05:30,v1,hi\n"


@pytest.mark.parametrize("body", [
    # श्री/श्रीमती in a `title` column: an extra column the import accepts and keeps with the contact
    "title,phone,name,consent_source,consent_at,notice_version,language\nश्रीमती," + CONTACTS_ROWS,
    CONTACTS_ROWS,  # exported without its header row
], ids=["title-column", "no-header"])
def test_a_contacts_file_is_never_uploaded_outside_audience(tmp_path, body):
    """files.classify calls a CSV an audience file only when its header names `phone` and neither `publish_at` nor
    `title`. A valid contacts file with a `title` column (श्री/श्रीमती — an extra column the import accepts and keeps),
    or one exported without its header row, is taken for a calendar: `prachar upload contacts.csv` puts voters'
    numbers, names and consent under calendar/<scope>/, outside everything that protects them — audience/'s one-day
    lifecycle rule (infra/resources.yaml), the sealed store, erasure on request — readable by everyone who reads the
    team's calendars, and kept. A CSV with phone numbers must go under audience/ or be refused (ask for --as)."""
    from prachar_cli.files import FileKindError, plan_files

    contacts = write(tmp_path / "contacts.csv", body)
    try:
        planned = plan_files([contacts], SCOPE).files
    except FileKindError:
        return  # refused: the volunteer is asked to say what it is
    assert [f.key.split("/", 1)[0] for f in planned] == ["audience"], [f.key for f in planned]


def test_a_headerless_contacts_file_does_not_put_a_voters_number_in_the_error_report(tmp_path):
    """A contacts file saved without its header row is checked — and uploaded — as a calendar, whose first row is read
    as the header: the calendar's problems name each cell of it, unmasked ("'+91 98111 00001' is not a calendar
    column"). These are the words of errors/calendar/<scope>/contacts.csv.json and of the `upload.rejected` activity
    entry (its details carry the problems), which the dashboard shows to the team and its leads: a voter's number,
    name and consent in clear, where the audience import would mask it (audience.masked_digits). Neither the check
    nor the report it mirrors may carry the number."""
    contacts = write(tmp_path / "contacts.csv", CONTACTS_ROWS)
    result = check("--json", str(contacts))
    said = json.dumps(json.loads(result.stdout)[0]["problems"], ensure_ascii=False)
    assert "98111 00001" not in said, said


# ---- 9. a hostile file name reaches the terminal ---------------------------------------------------------------------
def test_a_file_name_cannot_send_escape_sequences_to_the_terminal(tmp_path):
    """`prachar check *` on a content kit someone shared (a zip over WhatsApp): the file names are printed through
    output.plain, which escapes rich's markup but not control characters — rich drops BEL but passes ESC on. A name
    such as ESC]52;c;…ESC\\ writes the volunteer's clipboard (OSC 52) on many terminals, ESC[2J clears the screen to
    hide what was checked, ESC]8;; makes a link say one thing and open another. Names must be shown with control
    characters escaped (as chalicelib's printable() shows them in problems)."""
    name = "\x1b]52;c;cm0gLXJmIH4K\x1b\\\x1b[2Jpost.yaml"
    try:
        post = write(tmp_path / name, "title: बजट\ntext: बजट घोषणा\n")
    except OSError:
        pytest.skip("this file system refuses control characters in names")
    result = check(str(post))
    assert "\x1b" not in result.output, repr(result.output[:300])


# ---- 10. a daily series sent all at once -----------------------------------------------------------------------------
def test_the_items_of_a_daily_series_are_sent_in_turn(tmp_path, monkeypatch):
    """README: series items "each take the series' next free daily slot in the order they are uploaded", and
    `prachar check ep1.yaml ep2.yaml` previews them in that order (Judge.cursors). `prachar upload ep1.yaml ep2.yaml`
    PUTs both at once and only then waits: in the cloud each PUT is its own asynchronous Lambda invocation, running
    side by side, and whichever reaches store.take_series_slot first gets the first day — episode 2 can go out
    before episode 1, with nothing said. Items of one series must be sent one at a time, each after the system
    answered the one before (or the series order must be otherwise enforced)."""
    log: list[str] = []
    for n in (1, 2):
        write(tmp_path / f"ep{n}.yaml", f"title: विकास गाथा {n}\ntext: कड़ी {n}\nseries: vikas-gatha\n")

    def logged_put(**kwargs: Any) -> dict[str, Any]:
        log.append("put " + kwargs["Key"].rsplit("/", 1)[-1])
        return put(**kwargs)

    def logged_get(path: str, params: dict[str, Any] | None = None) -> Any:
        if path == "api/uploads":
            log.append("answer " + params["key"].rsplit("/", 1)[-1])
        return get(path, params)

    s3, client = FakeS3(), FakeClient()
    put, get = s3.put_object, client.get
    s3.put_object, client.get = logged_put, logged_get  # type: ignore[method-assign]
    monkeypatch.setattr(api, "signed_in", lambda timeout=api.TIMEOUT: client)
    monkeypatch.setattr(uploading, "s3_client", lambda region: s3)
    result = CliRunner().invoke(cli, ["--lang", "en", "upload", "--timeout", "5", str(tmp_path / "ep1.yaml"),
                                      str(tmp_path / "ep2.yaml")])
    assert result.exit_code == 0, result.output
    assert log.index("answer ep1.yaml") < log.index("put ep2.yaml"), log
