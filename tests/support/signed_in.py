"""Signed-in calls for tests: members' ID tokens from the test's Cognito pool on the emulator, and a
chalice.test.Client whose gateway checks them as API Gateway does (local/gateway.py)."""

from __future__ import annotations

import os
from typing import Any

from chalicelib.adapters import aws
from infra.identity import sign_in
from local.gateway import CognitoTokenAuthorizer, check_tokens_on

PASSWORD = "prachar-test-1"
COORDINATOR = "state-01"
_DEFAULT = object()


def member_token(member_id: str, *, pool_id: str | None = None, client_id: str | None = None) -> str:
    """A member's ID token (the user is made on first use; the emulator is reset between tests)."""
    cognito = aws.client("cognito-idp")
    pool_id = pool_id or os.environ["PRACHAR_USER_POOL_ARN"].rsplit("/", 1)[1]
    client_id = client_id or os.environ["PRACHAR_USER_POOL_CLIENT_ID"]
    key = (pool_id, client_id, member_id)
    if key not in _tokens:
        try:
            cognito.admin_create_user(UserPoolId=pool_id, Username=member_id, MessageAction="SUPPRESS")
            cognito.admin_set_user_password(UserPoolId=pool_id, Username=member_id, Password=PASSWORD,
                                            Permanent=True)
        except cognito.exceptions.UsernameExistsException:
            pass
        _tokens[key] = sign_in(cognito, client_id, member_id, PASSWORD)
    return _tokens[key]


_tokens: dict[tuple[str, str, str], str] = {}


def signed(member: str | None, headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers of a JSON request by `member` (None: not signed in)."""
    out = {"Content-Type": "application/json", **(headers or {})}
    if member is not None:
        out["Authorization"] = member_token(member)
    return out


class SignedHTTP:
    """chalice's test HTTP client, each call signed in as `member=` (a coordinator unless told otherwise)."""

    def __init__(self, http: Any) -> None:
        self._http = http

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | str = b"",
                member: Any = _DEFAULT) -> Any:
        member = COORDINATOR if member is _DEFAULT else member
        return self._http.request(method, path, headers=signed(member, headers), body=body)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)


class SignedClient:
    def __init__(self, client: Any, app_object: Any) -> None:
        self._client = client
        check_tokens_on(client.http._local_gateway, CognitoTokenAuthorizer(
            app_object, emulator_url=lambda: os.environ["AWS_ENDPOINT_URL"]))
        self.http = SignedHTTP(client.http)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
