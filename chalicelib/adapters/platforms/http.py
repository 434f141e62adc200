"""One HTTP call to a platform, with the transport failures sorted into before and after sending."""

from __future__ import annotations

import html
import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

from chalicelib import tracing
from chalicelib.errors import PlatformAmbiguousError, PlatformUnavailableError


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: Any


@lru_cache(maxsize=1)
def _pool() -> urllib3.PoolManager:
    # urllib3 already ships in every Lambda (botocore needs it): no extra cold-start cost.
    return urllib3.PoolManager(num_pools=8, maxsize=16, retries=False)  # a broadcast chunk has 16 calls in flight


def same_text(published: str, ours: str) -> bool:
    """Platforms shorten links (t.co), escape &, < and > as HTML entities, trim, and X appends a link to attached
    media: compare the words, every URL counted as one token, ignoring links the platform added at the end."""
    def words(text: str) -> list[str]:
        return [("<url>" if w.startswith(("http://", "https://")) else w)
                for w in unicodedata.normalize("NFC", html.unescape(text)).split()]

    theirs, mine = words(published), words(ours)
    while len(theirs) > len(mine) and theirs[-1] == "<url>":
        theirs.pop()
    return theirs == mine


def call(platform: str, method: str, url: str, *, token_header: str, timeout: float,
         json_body: dict[str, Any] | None = None, form: dict[str, str] | None = None,
         query: dict[str, str] | None = None, multipart: dict[str, Any] | None = None,
         raw: bytes | None = None, headers: dict[str, str] | None = None) -> HttpResponse:
    if query:
        url = f"{url}?{urlencode(query)}"
    headers = {"Authorization": token_header, "Accept": "application/json", "User-Agent": "prachar/0.1",
               **(headers or {})}
    body: bytes | None = raw
    if multipart is not None:
        body, content_type = urllib3.encode_multipart_formdata(multipart)
        headers["Content-Type"] = content_type
    elif json_body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
    elif form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(form).encode("ascii")
    try:
        with tracing.platform_call(platform, method, url) as traced:
            response = _pool().request(method, url, body=body, headers=headers,
                                       timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout))
            traced(response.status)
    except (NewConnectionError, ConnectTimeoutError) as exc:
        raise PlatformUnavailableError(platform, f"could not connect: {type(exc).__name__}") from None
    except ReadTimeoutError:
        raise PlatformAmbiguousError(platform, "timed out after sending; the platform may have accepted it") from None
    except HTTPError as exc:
        raise PlatformAmbiguousError(platform, f"connection failed mid-request: {type(exc).__name__}") from None
    text = response.data.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text) if text else {}
    except json.JSONDecodeError:
        parsed = {"raw": text[:500]}
    return HttpResponse(status=response.status, headers={k.lower(): v for k, v in response.headers.items()},
                        body=parsed)


def download(platform: str, url: str, timeout: float) -> bytes:
    """Media for an upload, from the content bucket's short-lived link."""
    try:
        with tracing.platform_call(platform, "GET", url) as traced:
            response = _pool().request("GET", url,
                                       timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout * 6))
            traced(response.status)
    except HTTPError as exc:
        raise PlatformUnavailableError(platform, f"could not read the media file: {type(exc).__name__}") from None
    if response.status != 200:
        raise PlatformUnavailableError(platform, f"could not read the media file: HTTP {response.status}")
    return response.data
