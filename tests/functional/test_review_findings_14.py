"""Hostile review of 10145b2..HEAD: the emulator's kept-alive connections (local/moto_fixes.py fix 10). Each test
fails on the change; its docstring says what breaks and where.
"""

from __future__ import annotations

import socket

SIGNED = ("Authorization: AWS4-HMAC-SHA256 Credential=local/20210101/ap-south-1/s3/aws4_request, SignedHeaders=host, "
          "Signature=x\r\nx-amz-date: 20210101T000000Z\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n")


def _answer(emulator, request: bytes) -> bytes:
    with socket.create_connection((emulator.host, emulator.port)) as conn:
        conn.settimeout(10)  # a guard against a hang, not an assertion on time
        conn.sendall(request)
        conn.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := conn.recv(65536):
            got += chunk
    return got


def test_a_request_with_a_malformed_content_length_gets_an_answer(emulator):
    """local/moto_fixes.py `connections_kept_alive` → KeptAlive.make_environ does `int(length or 0)` on the raw
    Content-Length header, outside werkzeug's error handling (run_wsgi calls make_environ before its try). A header
    that is not a whole number ("abc") raises ValueError out of the request handler: socketserver prints a traceback
    and drops the connection with no answer at all. moto's own server (werkzeug, unpatched) answers such a request
    (200 for this GET); a client sees a reset/empty reply instead of an HTTP error — bad input with no answer."""
    answer = _answer(emulator, ("GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\n" + SIGNED +
                                "Content-Length: abc\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 "), f"no HTTP answer at all: {answer[:80]!r}"
