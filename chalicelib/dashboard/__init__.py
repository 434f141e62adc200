"""The dashboard page and its assets, shipped inside the Lambda package (no CDN: it works offline)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
ASSETS = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8",
          "uPlot.iife.min.js": "text/javascript; charset=utf-8", "uPlot.min.css": "text/css; charset=utf-8",
          "LICENSE-uPlot.txt": "text/plain; charset=utf-8"}


@cache
def read(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def security_headers(cognito_endpoint: str) -> dict[str, str]:
    """Scripts and styles only from the app itself; the page talks to the API and to Cognito, nowhere else."""
    origin = "/".join(cognito_endpoint.split("/")[:3])
    policy = (f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              f"connect-src 'self' {origin}; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
    return {"Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
