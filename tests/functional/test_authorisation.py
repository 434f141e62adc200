"""Who may call what: every /api route × role × own / other scope × signed / unsigned / expired / wrong-pool token.

The expectations come from an oracle written here from the product's rules (not from chalicelib/domain/access.py),
and the same oracle renders the table in docs/authorisation.md. Requests go through chalice's test gateway with
API Gateway's Cognito check in front (local/gateway.py), with tokens the emulator's Cognito pool issued.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from chalice.test import Client

import app
from chalicelib.adapters import aws
from chalicelib.domain.post import content_id_for
from infra.identity import ensure_user_pool
from local.gateway import CognitoTokenAuthorizer, check_tokens_on
from tests.support.campaigns import two_districts, with_principals
from tests.support.signed_in import PASSWORD, member_token

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "authorisation.md"

TARGETS = {"sahada": "constituency/sahada", "vallabhnagar": "constituency/vallabhnagar", "state": "state"}
KEYS = {name: f"content/{scope}/matrix.yaml" for name, scope in TARGETS.items()}
ACCOUNT = {"sahada": "fb-sahada", "vallabhnagar": "fb-vallabhnagar", "state": "fb-state"}
CALLERS = {"state-01": "coordinator (state)", "bhilwara-01": "lead (district/bhilwara)",
           "sahada-01": "lead (constituency/sahada)", "sahada-02": "member (constituency/sahada)",
           "outsider-01": "signed in, not in the campaign"}
# What each caller may read, by target: a lead sees their scope and the scopes inside it, a member their team's.
SEES = {"state-01": {"sahada", "vallabhnagar", "state"}, "bhilwara-01": {"sahada"}, "sahada-01": {"sahada"},
        "sahada-02": {"sahada"}, "outsider-01": set()}

# (name, method, path, body); {id} is the target's content id, {scope} its scope, {account} its Facebook account.
ROUTES = [
    ("list posts", "GET", "/api/posts?scope={scope}", None),
    ("read a post", "GET", "/api/posts/{id}", None),
    ("activity", "GET", "/api/activity?scope={scope}", None),
    ("overview", "GET", "/api/overview?scope={scope}", None),
    ("accounts", "GET", "/api/accounts", None),
    ("pauses", "GET", "/api/pauses", None),
    ("approve", "POST", "/api/posts/{id}/approve", {"revision": 1}),
    ("reject", "POST", "/api/posts/{id}/reject", {"reason": "matrix"}),
    ("clear-silence", "POST", "/api/posts/{id}/clear-silence", {"revision": 1}),
    ("settle", "POST", "/api/posts/{id}/settle", {"account_id": "{account}", "went_out": False}),
    ("pause", "POST", "/api/pause", {"scope": "{scope}", "reason": "matrix"}),
    ("resume", "POST", "/api/resume", {"scope": "{scope}"}),
    ("erase a voter", "POST", "/api/audience/erase", {"phone": "+91 98765 43210"}),
    ("export contacts", "POST", "/api/audience/export", {"constituency": "{name}"}),
    ("who am I", "GET", "/api/me", None),
    ("campaign", "GET", "/api/campaign", None),
    ("upload answer", "GET", "/api/uploads?key={key}&etag=0123&version=v1", None),
]
UNTARGETED = {"accounts", "pauses", "erase a voter", "who am I", "campaign"}


def expected(route: str, caller: str, target: str) -> str:
    """ok (the handler acted or answered on the merits: 2xx, 409), or the denial: 403 or 404."""
    if caller == "outsider-01":
        return "403"
    sees, role = target in SEES[caller], CALLERS[caller].split()[0]
    if route == "erase a voter":
        return "ok" if role == "coordinator" else "403"  # it cannot be undone
    if route == "export contacts":  # voters' numbers in the clear: a coordinator, or the constituency's own lead
        if target == "state":
            return "404"  # not a constituency: nobody's contacts
        return "ok" if role == "coordinator" or (caller == "sahada-01" and target == "sahada") else "403"
    if route in UNTARGETED:
        return "ok"  # every member may ask; the answer holds only what they may see
    if route in ("list posts", "activity", "overview", "upload answer"):
        return "ok" if sees else "403"
    if route in ("pause", "resume"):
        return "ok" if role == "coordinator" or (role == "lead" and sees) else "403"
    if not sees:
        return "404"  # another team's post answers as if it did not exist
    if route == "read a post":
        return "ok"
    if route in ("approve", "reject"):  # constituency content: a lead of its district or the state, or a coordinator
        return "ok" if role == "coordinator" or (caller == "bhilwara-01" and target == "sahada") else "403"
    if route == "clear-silence":
        return "ok" if role == "coordinator" and target == "state" else "403"
    return "ok" if role == "coordinator" else "403"  # settle


def matrix_table() -> str:
    header = "| route | caller | " + " | ".join(TARGETS) + " |"
    lines = [header, "|" + "---|" * (2 + len(TARGETS))]
    for route, *_ in ROUTES:
        for caller, who in CALLERS.items():
            cells = [expected(route, caller, target) if route not in UNTARGETED or target == "sahada" else "″"
                     for target in TARGETS]
            lines.append(f"| {route} | {caller} — {who} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@pytest.fixture()
def matrix(active, campaign_yaml):
    document = two_districts(campaign_yaml)
    document["accounts"].append({"id": "fb-bhilwara", "scope": "district/bhilwara", "platform": "facebook",
                                 "page_id": "100000000000008", "secret": "/prachar/{stage}/accounts/fb-bhilwara"})
    active.put("config/campaign.yaml", yaml.safe_dump(document, allow_unicode=True))
    assert active.container.ingest().config("config/campaign.yaml").outcome == "accepted"
    for name, key in KEYS.items():
        active.put(key, f"title: {name}\ntext: मैट्रिक्स\nplatforms: [facebook]\npublish_at: 2021-03-10T10:00:00+05:30\n")
        assert active.container.ingest().content(key).outcome == "accepted"
    return active


def gateway_client(now=time.time):
    client = Client(app.app, stage_name="functional")
    check_tokens_on(client.http._local_gateway, CognitoTokenAuthorizer(
        app.app, emulator_url=lambda: aws.client("s3").meta.endpoint_url, now=now))
    return client


def call(client, route: str, target: str, token: str | None):
    _, method, path, body = next(r for r in ROUTES if r[0] == route)
    values = {"id": content_id_for(KEYS[target]), "scope": TARGETS[target], "account": ACCOUNT[target],
              "key": KEYS[target]}
    headers = {"Content-Type": "application/json", **({"Authorization": token} if token is not None else {})}
    text = json.dumps(body).replace("{account}", values["account"]).replace("{scope}", values["scope"]).replace(
        "{name}", target) if body is not None else b""
    return client.http.request(method, path.format(**values), headers=headers, body=text)


def outcome(response) -> str:
    return str(response.status_code) if response.status_code in (401, 403, 404) else "ok"


@pytest.mark.parametrize("caller", list(CALLERS))
def test_each_route_answers_each_caller_by_role_and_scope(matrix, caller):
    client, token = gateway_client(), member_token(caller)
    found = {}
    for route, *_ in ROUTES:  # reads first, then decisions, then the kill switch: each on its own post
        for target in TARGETS:
            answer = call(client, route, target, token)
            assert answer.status_code != 500 and answer.status_code < 500, (route, target, answer.body)
            assert answer.status_code not in (400, 401), (route, target, answer.body)  # bodies are valid
            found[(route, target)] = outcome(answer)
    wanted = {(route, target): expected(route, caller, target) for route, *_ in ROUTES for target in TARGETS}
    assert {k: v for k, v in found.items() if v != wanted[k]} == {}


@pytest.mark.parametrize("token_kind", ["unsigned", "garbage", "expired", "wrong pool", "access token"])
def test_no_route_runs_without_a_valid_id_token_of_the_campaign_pool(matrix, token_kind):
    now = (lambda: time.time() + 2 * 3600) if token_kind == "expired" else time.time
    client = gateway_client(now)
    cognito = aws.client("cognito-idp")
    if token_kind == "wrong pool":  # same user name, same emulator, same signing key: another pool's issuer
        other = ensure_user_pool(cognito, "elsewhere")
        token = member_token("state-01", pool_id=other.id, client_id=other.client_id)
    elif token_kind == "access token":
        member_token("state-01")
        import os

        token = cognito.initiate_auth(ClientId=os.environ["PRACHAR_USER_POOL_CLIENT_ID"],
                                      AuthFlow="USER_PASSWORD_AUTH",
                                      AuthParameters={"USERNAME": "state-01", "PASSWORD": PASSWORD}
                                      )["AuthenticationResult"]["AccessToken"]
    else:
        token = {"unsigned": None, "garbage": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
                 "expired": member_token("state-01")}[token_kind]
    for route, *_ in ROUTES:
        answer = call(client, route, "sahada", token)
        assert answer.status_code == 401, (route, answer.status_code, answer.body)
        if token_kind == "expired":
            assert json.loads(answer.body) == {"message": "The incoming token has expired"}
    assert matrix.container.store.post(content_id_for(KEYS["sahada"]), "fb-sahada").status.value == \
        "pending_approval", "nothing acted"
    assert matrix.container.store.pauses() == {}


def test_a_token_signed_by_another_key_is_refused(matrix):
    """A token with the pool's issuer and claims, signed with a key that is not in the pool's JWKS."""
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    genuine = member_token("state-01")
    claims = json.loads(__import__("base64").urlsafe_b64decode(genuine.split(".")[1] + "=="))
    forged = jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, RSAKey.generate_key(2048))
    assert call(gateway_client(), "read a post", "sahada", forged).status_code == 401
    assert call(gateway_client(), "read a post", "sahada", genuine).status_code == 200


def test_lists_hold_only_what_the_caller_may_see(matrix, client):
    matrix.put("content/district/bhilwara/d.yaml", "title: d\ntext: जिला\nplatforms: [facebook]\n")
    matrix.container.ingest().content("content/district/bhilwara/d.yaml")
    for caller, scopes in {"state-01": {"state", "district/bhilwara", "constituency/sahada",
                                        "constituency/vallabhnagar"},
                           "bhilwara-01": {"district/bhilwara", "constituency/sahada"},
                           "sahada-02": {"constituency/sahada"}}.items():
        posts = client.http.get("/api/posts", member=caller).json_body
        assert {p["scope"] for p in posts["posts"]} == scopes & {"state", "constituency/sahada",
                                                                 "constituency/vallabhnagar", "district/bhilwara"}
        accounts = client.http.get("/api/accounts", member=caller).json_body["accounts"]
        assert {a["scope"] for a in accounts} == scopes
        entries = client.http.get("/api/activity?date=2021-03-03&limit=500", member=caller).json_body["entries"]
        assert entries and {e["scope"] for e in entries} <= scopes, caller
    assert client.http.get("/api/posts", member="sahada-02").json_body["scope"] == "constituency/sahada"


def test_pauses_show_what_stops_the_callers_posts_and_leads_lift_only_their_own(matrix, client):
    def pause(member, scope):
        return client.http.post("/api/pause", body=json.dumps({"scope": scope, "reason": "x"}), member=member)

    assert pause("state-01", "constituency/vallabhnagar").status_code == 200
    assert pause("state-01", "district/bhilwara").status_code == 200
    assert pause("bhilwara-01", "constituency/sahada").status_code == 200
    seen = [p["scope"] for p in client.http.get("/api/pauses", member="sahada-02").json_body["paused"]]
    assert seen == ["constituency/sahada", "district/bhilwara"], "what stops sahada, not another district"
    lifted = client.http.post("/api/resume", body=json.dumps({"scope": "district/bhilwara"}), member="bhilwara-01")
    assert lifted.status_code == 403 and "coordinator" in lifted.json_body["Message"]
    mine = client.http.post("/api/resume", body=json.dumps({"scope": "constituency/sahada"}), member="sahada-01")
    assert mine.status_code == 200 and mine.json_body["was_paused"]


def api_gateway_event(path: str, claims: dict[str, str] | None) -> dict:
    """A REST API Lambda-proxy event as API Gateway sends it behind a Cognito user-pool authorizer: the token's
    claims under requestContext.authorizer.claims, every value a string (AWS's documented shape)."""
    context = {"resourceId": "abc123", "resourcePath": path, "httpMethod": "GET", "stage": "api",
               "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "accountId": "123456789012",
               "identity": {"sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0", "cognitoIdentityId": None,
                            "userArn": None, "caller": None, "user": None},
               "path": f"/api{path}", "protocol": "HTTP/1.1", "apiId": "a1b2c3d4e5"}
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {"resource": path, "path": path, "httpMethod": "GET",
            "headers": {"Authorization": "eyJraWQiOi…", "Host": "a1b2c3d4e5.execute-api.ap-south-1.amazonaws.com"},
            "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": None, "stageVariables": None, "requestContext": context, "body": None,
            "isBase64Encoded": False}


def claims_of(member: str) -> dict[str, str]:
    return {"sub": "7d8ca528-4931-4254-9273-ea5ee853f271", "cognito:username": member, "token_use": "id",
            "aud": "faee2f3284e04ffbb2549ecd79", "auth_time": "1616054400", "email_verified": "true",
            "iss": "https://cognito-idp.ap-south-1.amazonaws.com/ap-south-1_example",
            "exp": "Thu Mar 18 08:00:00 UTC 2021", "iat": "Thu Mar 18 07:00:00 UTC 2021"}


class LambdaContext:
    function_name, memory_limit_in_mb = "prachar-dev", 512
    invoked_function_arn = "arn:aws:lambda:ap-south-1:123456789012:function:prachar-dev"
    aws_request_id = "52fdfc07-2182-154f-163f-5f0f9a621d72"


@pytest.mark.parametrize("claims, status, words", [
    (claims_of("sahada-02"), 200, None),
    (claims_of("ghost-99"), 403, "ghost-99 is not a member of campaign test-bypolls"),
    ({**claims_of("x"), "cognito:username": ""}, 401, "sign in"),
    (None, 401, "sign in"),  # an IAM-signed call: identity, no claims
])
def test_the_handler_reads_the_member_from_api_gateways_cognito_claims(matrix, claims, status, words):
    matrix.container.store.pause("constituency/sahada", "state-01", "x", matrix.clock.now())
    matrix.container.store.pause("constituency/vallabhnagar", "state-01", "x", matrix.clock.now())
    response = app.app(api_gateway_event("/api/pauses", claims), LambdaContext())
    assert response["statusCode"] == status, response["body"]
    body = json.loads(response["body"])
    if words:
        assert words in body["Message"]
    else:
        assert [p["scope"] for p in body["paused"]] == ["constituency/sahada"]


def test_the_matrix_covers_every_api_route_and_each_is_behind_the_cognito_authorizer():
    from chalice.app import CognitoUserPoolAuthorizer

    routes = {(method, path) for path, methods in app.app.routes.items() for method in methods}
    api = {(m, p) for m, p in routes if p.startswith("/api/")}
    tested = {(method, path.split("?")[0].replace("{id}", "{content_id}")) for _, method, path, _ in ROUTES}
    assert api == tested, "add the new route to ROUTES and to expected()"
    for method, path in api:
        authorizer = app.app.routes[path][method].authorizer
        assert isinstance(authorizer, CognitoUserPoolAuthorizer), (method, path)
    public = {p for _, p in routes - api}
    assert public == {"/health", "/webhooks/whatsapp", "/dashboard", "/dashboard/{asset}"}, "no data on these"


def test_the_documented_matrix_is_the_tested_one():
    text = DOC.read_text(encoding="utf-8")
    assert matrix_table() in text, "regenerate docs/authorisation.md's table from tests/functional/" \
                                   "test_authorisation.py:matrix_table()"


# ---- the config upload path: only a coordinator of the active campaign replaces it --------------------------
@pytest.mark.parametrize("uploader, outcome", [("AWS:AIDASTATE01", "accepted"), ("AIDASTATE01", "accepted"),
                                               ("AWS:AIDASAHADA01", "rejected"), ("AWS:AIDASAHADA02", "rejected"),
                                               ("AWS:AIDAINTRUDER", "rejected"), (None, "rejected")])
def test_only_a_coordinator_of_the_active_campaign_replaces_it(active, client, campaign_yaml, uploader, outcome):
    active.put("config/campaign.yaml", with_principals(campaign_yaml))
    assert active.container.ingest().config("config/campaign.yaml").outcome == "accepted"
    takeover = with_principals(campaign_yaml, approval={"constituency": "none", "district": "none",
                                                        "state": "none"}, campaign="taken-over")
    active.put("config/campaign.yaml", takeover)
    event = active.s3_event("config/campaign.yaml", principal=uploader)
    if uploader is None:
        del event["Records"][0]["userIdentity"]
    client.lambda_.invoke("on_config_upload", event)
    assert active.container.campaigns.active().campaign == ("taken-over" if outcome == "accepted" else "test-bypolls")
    report = active.error_report("config/campaign.yaml")
    if outcome == "rejected":
        problem = report["problems"][0]
        assert problem["field"] == "(uploader)" and "not by a coordinator of the active campaign" in problem["problem"]
        assert "the campaign config that was active stays active" in json.dumps(report, ensure_ascii=False)
    else:
        assert report is None


def test_a_config_naming_principals_must_name_a_coordinators(active, campaign_yaml):
    document = yaml.safe_load(with_principals(campaign_yaml))
    for team in document["teams"]:
        for member in team["members"]:
            if member.get("role") == "coordinator":
                member.pop("principal")
    active.put("config/campaign.yaml", yaml.safe_dump(document, allow_unicode=True))
    result = active.container.ingest().config("config/campaign.yaml")
    assert result.outcome == "rejected"
    assert "no coordinator does" in result.problems[0].message


def test_while_the_active_campaign_names_no_principal_the_bucket_policy_alone_guards(active, client, campaign_yaml):
    """The local emulator's S3 events carry no uploader, and its examples name no principal."""
    active.put("config/campaign.yaml", with_principals(campaign_yaml))
    event = active.s3_event("config/campaign.yaml")
    del event["Records"][0]["userIdentity"]
    client.lambda_.invoke("on_config_upload", event)
    assert active.container.campaigns.active().maps_principals, "accepted"


if __name__ == "__main__":  # python -m tests.functional.test_authorisation: rewrite the table in the docs
    text = DOC.read_text(encoding="utf-8")
    start = text.index("| route | caller |")
    end = text.index("\n\n", start)
    DOC.write_text(text[:start] + matrix_table() + text[end:], encoding="utf-8")


def test_a_token_of_an_ids_previous_holder_is_refused_at_once(matrix, client):
    """`make deploy` records which Cognito user holds each id; a new holder's deploy makes an old token useless
    before it expires (API Gateway itself would let it through for up to an hour)."""
    assert client.http.get("/api/pauses", member="sahada-02").status_code == 200
    matrix.container.store.bind_members({"sahada-02": "a-new-holders-sub"}, matrix.clock.now())
    refused = client.http.get("/api/pauses", member="sahada-02")
    assert refused.status_code == 401 and "not for the current holder of sahada-02" in refused.json_body["Message"]
    assert client.http.get("/api/pauses", member="state-01").status_code == 200, "ids not rebound are unaffected"


def test_a_member_id_signs_in_whatever_its_case(matrix):
    """The pool's user names are case-insensitive: Cognito may hand back the name as the member typed it."""
    from chalicelib.entry import caller

    _, member = caller({"authorizer": {"claims": {"cognito:username": "Sahada-02", "sub": "x"}}})
    assert member.id == "sahada-02"
