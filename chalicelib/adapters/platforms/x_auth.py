"""X user-context authorization: OAuth 1.0a (signed by oauthlib) or an OAuth 2.0 user access token.

The account's secret holds either a JSON object with consumer_key, consumer_secret, access_token and
access_token_secret (OAuth 1.0a, what X issues to an app for its own account), or the bare OAuth 2.0
user access token. App-only bearer tokens cannot post.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

OAUTH1_FIELDS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


def authorization(credentials: str, method: str, url: str, query: dict[str, str] | None = None) -> tuple[str, str]:
    """(the URL to call, its Authorization header). The signature covers the query; JSON and multipart
    bodies are not part of an OAuth 1.0a signature."""
    full_url = f"{url}?{urlencode(query)}" if query else url
    if not credentials.lstrip().startswith("{"):
        return full_url, f"Bearer {credentials}"
    try:
        secret = json.loads(credentials)
    except json.JSONDecodeError:
        raise ValueError("the X secret is not valid JSON") from None
    missing = [field for field in OAUTH1_FIELDS if not secret.get(field)]
    if missing:
        raise ValueError(f"the X secret lacks {', '.join(missing)}")
    from oauthlib.oauth1 import Client  # deferred: only X calls sign

    client = Client(secret["consumer_key"], client_secret=secret["consumer_secret"],
                    resource_owner_key=secret["access_token"], resource_owner_secret=secret["access_token_secret"])
    signed_url, headers, _ = client.sign(full_url, http_method=method)
    return signed_url, headers["Authorization"]
