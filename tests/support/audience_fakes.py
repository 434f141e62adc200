"""In-memory stand-ins for the audience import's vault and bucket (the services' unit tests)."""

from __future__ import annotations

import hashlib
import hmac
import json

from chalicelib.domain.audience import Sealed


class FakeVault:
    def digest(self, e164):
        return hmac.new(b"k" * 32, e164.encode(), hashlib.sha256).hexdigest()

    def fingerprint(self, fields):
        return hmac.new(b"k" * 32, json.dumps(fields, sort_keys=True).encode(), hashlib.sha256).hexdigest()

    def new_batch(self):
        pass

    def seal(self, digest, fields):
        return Sealed(json.dumps(fields, ensure_ascii=False)[::-1], "key")

    @staticmethod
    def open(*args):
        """open(digest, sealed) as ContactVault takes it, or open(sealed)."""
        return json.loads(args[-1].blob[::-1])


class FakeBucket:
    """The bucket as S3 holds it: one current upload per key (an older ETag is gone: IfMatch fails)."""

    def __init__(self):
        self.objects, self.errors, self.reports = {}, {}, {}

    def stream(self, key, etag, start):
        body = self.objects.get((key, etag))
        return None if body is None else iter([body[start:][i:i + 999] for i in range(0, len(body) - start, 999)])

    def write_error_report(self, key, report):
        self.errors[key] = report

    def clear_error_report(self, key):
        self.errors.pop(key, None)

    def write_report(self, key, body, content_type):
        self.reports[key] = json.loads(body)
