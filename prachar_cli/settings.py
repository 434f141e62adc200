"""Where the command line keeps what it remembers: PRACHAR_HOME (default ~/.config/prachar).

Three small JSON files live there, each readable by its owner only (0600, in a 0700 folder):
- settings.json: the API's address and the member id last signed in (not secret; kept after `prachar logout`);
- session.json: the sign-in itself — Cognito's ID and refresh tokens (session.py; never printed);
- campaign.json: the active campaign as last fetched (campaign_cache.py).

A file is replaced whole (written beside it, then renamed), so a command interrupted half-way, or two running at
once, never leave a torn file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HOME_VARIABLE = "PRACHAR_HOME"
SETTINGS_FILE = "settings.json"
LOCAL_API = "http://127.0.0.1:8000"


def home() -> Path:
    configured = os.environ.get(HOME_VARIABLE)
    return Path(configured).expanduser() if configured else Path.home() / ".config" / "prachar"


def read_json(name: str) -> dict[str, Any] | None:
    """A file of PRACHAR_HOME as a JSON object; None when it is missing or unreadable (a torn or hand-edited file is
    as good as none: the command asks again rather than failing on it)."""
    try:
        data = json.loads((home() / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_private(name: str, data: dict[str, Any]) -> Path:
    """Write a file of PRACHAR_HOME readable by its owner only, replacing it whole."""
    folder = home()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # an existing folder keeps the modes its owner gave it
    target = folder / name
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder)  # mkstemp makes it 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=1)
            out.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return target


def forget(name: str) -> bool:
    """Remove a file of PRACHAR_HOME; whether there was one."""
    try:
        (home() / name).unlink()
    except FileNotFoundError:
        return False
    return True


@dataclass(frozen=True)
class Settings:
    api: str | None = None
    member: str | None = None


def load() -> Settings:
    data = read_json(SETTINGS_FILE) or {}
    api, member = data.get("api"), data.get("member")
    return Settings(api=api if isinstance(api, str) and api else None,
                    member=member if isinstance(member, str) and member else None)


def save(settings: Settings) -> None:
    write_private(SETTINGS_FILE, {"api": settings.api, "member": settings.member})


def normalize_api(url: str) -> str:
    """The API's base address, ending in "/": what `chalice deploy` prints (https://….amazonaws.com/api/), or the
    local stack's http://127.0.0.1:8000. A route is the base followed by its path ("api/me"). A link to the
    dashboard works too (its page is served by the same API), and a bare host is taken as https://."""
    text = url.strip()
    if not text:
        raise ValueError("the API address is empty")
    if "://" not in text:
        text = ("http://" if text.startswith(("127.", "localhost", "[::1]")) else "https://") + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url} is not an http(s) address")
    path = parts.path.rstrip("/")
    for page in ("/dashboard", "/health"):
        if path.endswith(page):
            path = path[: -len(page)]
    return urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))


def api_candidates(base: str) -> list[str]:
    """Where the API may be, given what the user typed: the base itself and, when it ends in /api/, the address
    above it too — someone who reads "/api/…" in the README may type the local stack as http://127.0.0.1:8000/api,
    where the cloud's stage really is called "api". `prachar login` keeps the one that answers /health."""
    candidates = [base]
    if base.rstrip("/").endswith("/api"):
        candidates.append(base.rstrip("/")[: -len("api")])
    return candidates
