"""API Gateway's Cognito authorizer, for the local stack and the tests.

Chalice's local gateway decodes a token without checking it (and admits a request without one), and the
emulator runs no authorizer. This one does what API Gateway does for a `CognitoUserPoolAuthorizer` route
before the handler runs: the raw ID token in the Authorization header, RS256-signed by a key of the pool's
JWKS, issued by the configured pool, not expired — else 401 and the handler never runs. The claims reach
the handler where API Gateway puts them (`requestContext.authorizer.claims`), so the code that reads the
caller is the code that runs in the cloud.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from chalice.app import CognitoUserPoolAuthorizer
from chalice.local import LocalGateway, LocalGatewayAuthorizer, NotAuthorizedError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from local.aws_calls import running

UNAUTHORIZED = b'{"message":"Unauthorized"}'
EXPIRED = b'{"message":"The incoming token has expired"}'
API_FUNCTION = "api_handler"


def pool_arns_from_environment() -> list[str]:
    arn = os.environ.get("PRACHAR_USER_POOL_ARN")
    return [arn] if arn else []


class CognitoTokenAuthorizer(LocalGatewayAuthorizer):
    def __init__(self, app_object: Any, *, emulator_url: Callable[[], str],
                 pool_arns: Callable[[], list[str]] = pool_arns_from_environment,
                 now: Callable[[], float] = time.time) -> None:
        super().__init__(app_object)
        self._emulator_url = emulator_url
        self._pool_arns = pool_arns
        self._now = now
        self._keys: dict[str, KeySet] = {}
        self._lock = threading.Lock()

    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        route = self._route_for_event(lambda_event)
        if route is None or not isinstance(route.authorizer, CognitoUserPoolAuthorizer):
            return lambda_event, lambda_context
        headers = {k.lower(): v for k, v in (lambda_event.get("headers") or {}).items()}
        claims = self.claims(headers.get(route.authorizer.to_swagger()["name"].lower(), ""), lambda_context)
        lambda_event["requestContext"]["authorizer"] = {"claims": claims}
        return lambda_event, lambda_context

    def claims(self, token: str, lambda_context: Any = None) -> dict[str, Any]:
        refused = NotAuthorizedError({"x-amzn-ErrorType": "UnauthorizedException"}, UNAUTHORIZED)
        if not token:
            raise refused
        try:
            unverified = json.loads(_segment(token, 1))
            issuer = unverified["iss"]
        except (ValueError, KeyError, TypeError, IndexError):
            raise refused from None
        pools = {_issuer(arn): arn for arn in self._pool_arns()}
        if issuer not in pools:
            raise refused  # a token of another pool, however well signed
        try:
            verified = jwt.decode(token, self._key_set(issuer), algorithms=["RS256"])
        except (JoseError, ValueError):
            raise refused from None
        claims = verified.claims
        if claims.get("token_use") != "id":
            raise refused
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= self._now():
            raise NotAuthorizedError({"x-amzn-ErrorType": "UnauthorizedException"}, EXPIRED)
        # API Gateway hands every claim over as a string.
        return {name: value if isinstance(value, str) else json.dumps(value) for name, value in claims.items()}

    def _key_set(self, issuer: str) -> KeySet:
        with self._lock:
            if issuer not in self._keys:
                pool_id = issuer.rsplit("/", 1)[1]
                url = f"{self._emulator_url()}/{pool_id}/.well-known/jwks.json"
                with urllib.request.urlopen(url, timeout=10) as answer:
                    self._keys[issuer] = KeySet.import_key_set(json.loads(answer.read()))
            return self._keys[issuer]


def _segment(token: str, index: int) -> bytes:
    part = token.split(".")[index]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _issuer(pool_arn: str) -> str:
    region, pool_id = pool_arn.split(":")[3], pool_arn.rsplit("/", 1)[1]
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


class ApiFunctionGateway(LocalGateway):
    """The local gateway, its requests run as the API's Lambda (`api_handler`, as Chalice names it), with a container
    of its own as in its own process."""

    def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        with running(API_FUNCTION, own_container=True):
            return super().handle_request(*args, **kwargs)


def check_tokens_on(gateway: LocalGateway, authorizer: CognitoTokenAuthorizer) -> LocalGateway:
    gateway._authorizer = authorizer  # chalice's own admits every Cognito request (see the module's docstring)
    return gateway
