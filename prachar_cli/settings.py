"""Where the command line keeps what it remembers: PRACHAR_HOME (default ~/.config/prachar).

Three small JSON files live there, each readable by its owner only (0600, in a 0700 folder):
- settings.json: the API's address and the member id last signed in (not secret; kept after `prachar logout`);
- session.json: the sign-in itself — Cognito's ID and refresh tokens (session.py; never printed);
- campaign.json: the active campaign as last fetched (campaign_cache.py).

A file is replaced whole (written beside it, then renamed), so a command interrupted half-way, or two running at
once, never leave a torn file behind.

The folder is the user's alone: it is made 0700, one of theirs that others may enter is made 0700 again, and one
that belongs to someone else is refused — whoever can replace settings.json there chooses the API the next
`prachar login` sends the password's sign-in through, and whoever can replace session.json chooses whose tokens
the commands use.

The API is spoken to over https; plain http only to this machine (the local stack): an ID token sent in clear over
the café's Wi-Fi is anyone's for an hour.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from prachar_cli.api import CliError
from prachar_cli.i18n import say

HOME_VARIABLE = "PRACHAR_HOME"
SETTINGS_FILE = "settings.json"
LOCAL_API = "http://127.0.0.1:8000"


def home() -> Path:
    configured = os.environ.get(HOME_VARIABLE)
    return Path(configured).expanduser() if configured else Path.home() / ".config" / "prachar"


class UnsafeHome(CliError):
    """PRACHAR_HOME is not a folder of this user's alone."""


def private_home(create: bool = False) -> Path | None:
    """PRACHAR_HOME, checked to be this user's alone (see the module's docstring); None when it does not exist and
    `create` is false. A folder of another user's, or one others may change and that cannot be made private, raises
    UnsafeHome."""
    folder = home()
    try:
        info = folder.stat()
    except FileNotFoundError:
        if not create:
            return None
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            info = folder.stat()
        except OSError as exc:
            raise CliError(say("Cannot make {path} (PRACHAR_HOME): {why}", "{path} (PRACHAR_HOME) नहीं बन सका: {why}",
                               path=str(folder), why=exc.strerror or str(exc))) from None
    except OSError as exc:
        raise CliError(say("Cannot read {path} (PRACHAR_HOME): {why}", "{path} (PRACHAR_HOME) पढ़ा नहीं जा सका: {why}",
                           path=str(folder), why=exc.strerror or str(exc))) from None
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeHome(say("{path} (PRACHAR_HOME) is not a folder.", "{path} (PRACHAR_HOME) फ़ोल्डर नहीं है।",
                             path=str(folder)))
    if not hasattr(os, "getuid"):  # no POSIX owners and modes (Windows): the user profile's own ACLs apply
        return folder
    if info.st_uid != os.getuid():
        raise UnsafeHome(say(
            "{path} (PRACHAR_HOME) belongs to another user: your sign-in is never kept where someone else can replace "
            "it. Set PRACHAR_HOME to a folder of your own (the default is ~/.config/prachar).",
            "{path} (PRACHAR_HOME) किसी दूसरे उपयोगकर्ता का है: आपका साइन-इन ऐसी जगह नहीं रखा जाता जहाँ कोई और उसे बदल "
            "सके। PRACHAR_HOME को अपने किसी फ़ोल्डर पर सेट करें (डिफ़ॉल्ट ~/.config/prachar है)।", path=str(folder)))
    if stat.S_IMODE(info.st_mode) & 0o077:
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o700)
        mode = stat.S_IMODE(folder.stat().st_mode)
        if mode & 0o022:
            raise UnsafeHome(say(
                "{path} (PRACHAR_HOME) may be changed by other users (mode {mode}) and could not be made private: set "
                "PRACHAR_HOME to a folder of your own (the default is ~/.config/prachar).",
                "{path} (PRACHAR_HOME) को दूसरे उपयोगकर्ता बदल सकते हैं (मोड {mode}) और उसे निजी नहीं बनाया जा सका: "
                "PRACHAR_HOME को अपने किसी फ़ोल्डर पर सेट करें (डिफ़ॉल्ट ~/.config/prachar है)।",
                path=str(folder), mode=oct(mode)))
    return folder


def read_json(name: str) -> dict[str, Any] | None:
    """A file of PRACHAR_HOME as a JSON object; None when it is missing or unreadable (a torn or hand-edited file is
    as good as none: the command asks again rather than failing on it). A folder that is not the user's alone, or a
    file in it that another user put there, raises UnsafeHome."""
    folder = private_home()
    if folder is None:
        return None
    try:
        with (folder / name).open(encoding="utf-8") as handle:
            if hasattr(os, "getuid") and os.fstat(handle.fileno()).st_uid != os.getuid():
                raise UnsafeHome(say("{path} belongs to another user: remove it, and sign in again.",
                                     "{path} किसी दूसरे उपयोगकर्ता की है: उसे हटाएँ और फिर से साइन इन करें।",
                                     path=str(folder / name)))
            data = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_private(name: str, data: dict[str, Any]) -> Path:
    """Write a file of PRACHAR_HOME readable by its owner only, replacing it whole."""
    folder = private_home(create=True)
    assert folder is not None
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


def is_loopback(host: str | None) -> bool:
    """Whether `host` is this machine itself: 127.0.0.0/8, ::1 or the name localhost — exactly (localhost.example.org
    and 127.0.0.1.nip.io are names anyone may point anywhere)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(url: str) -> str | None:
    """The host an http(s) address names (lower case, an IPv6 address without its brackets) — None unless its
    address part is plainly a host and a port: no user name ("https://a.example.org@b.example.net/" goes to b), and
    nothing stuck to an IPv6 address's brackets."""
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    plain_host = f"[{host}]" if ":" in host else host
    return host if parts.netloc.lower() in (plain_host, f"{plain_host}:{port}") else None


def in_clear_refusal(url: str) -> str | None:
    """Why nothing secret may be sent to `url` (plain http to a host that is not this machine), or None."""
    scheme = urlsplit(url).scheme
    if scheme == "https" or (scheme == "http" and is_loopback(host_of(url))):
        return None
    return say("{url} is plain http to another machine: your sign-in would cross the network in clear, readable by "
               "anyone on the way. Use the API's https:// address (http is only for this machine: 127.0.0.1, "
               "localhost, [::1]).",
               "{url} किसी दूसरी मशीन का सादा http पता है: आपका साइन-इन नेटवर्क पर खुला जाएगा, रास्ते में कोई भी पढ़ "
               "सकता है। API का https:// पता दें (http केवल इसी मशीन के लिए है: 127.0.0.1, localhost, [::1])।",
               url=url)


def normalize_api(url: str) -> str:
    """The API's base address, ending in "/": what `chalice deploy` prints (https://….amazonaws.com/api/), or the
    local stack's http://127.0.0.1:8000. A route is the base followed by its path ("api/me"). A link to the
    dashboard works too (its page is served by the same API). A bare address is taken as https://, or as http://
    when its host is this machine (is_loopback); plain http to any other host is refused (in_clear_refusal).
    A ValueError says, in the run's language, why an address is not one."""
    text = url.strip()
    if not text:
        raise ValueError(say("the API address is empty", "API का पता खाली है"))
    if "://" not in text:
        text = ("http://" if is_loopback(host_of("//" + text)) else "https://") + text
    parts = urlsplit(text)
    if "@" in parts.netloc:  # https://prachar-api.example.org@elsewhere.example.net/ goes to elsewhere
        raise ValueError(say("{url}: an API address has no user name or password in it ('@')",
                             "{url}: API के पते में उपयोगकर्ता नाम या पासवर्ड ('@') नहीं होता", url=url))
    if parts.scheme not in ("http", "https") or host_of(text) is None:
        raise ValueError(say("{url} is not an http(s) address", "{url} http(s) पता नहीं है", url=url))
    refusal = in_clear_refusal(text)
    if refusal:
        raise ValueError(refusal)
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
