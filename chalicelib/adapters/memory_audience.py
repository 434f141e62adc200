"""The audience store in memory, for the services' tests: the same contract as adapters/audience_store."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.domain.contacts import ERASED, StoredContact, Suppression, replaces


class InMemoryAudience:
    def __init__(self) -> None:
        self._contacts: dict[tuple[str, str], StoredContact] = {}
        # (constituency, shard) → its digests, kept in order (as the table's sort key keeps them) once read: reading a
        # chunk is a bisect, like a Query, not a walk through every contact with the lock held; a write only forgets
        # the order, so an import does not pay for keeping it.
        self._shards: dict[tuple[str, str], set[str]] = {}
        self._in_order: dict[tuple[str, str], list[str]] = {}
        self._suppressed: dict[str, Suppression] = {}
        self._imports: dict[tuple[str, str], dict[str, Any]] = {}
        self._generations: dict[str, int] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def known(self, constituency: str, digests: Iterable[str]) -> tuple[dict[str, StoredContact],
                                                                       dict[str, Suppression]]:
        with self._lock:
            digests = list(digests)
            return ({d: self._contacts[(constituency, d)] for d in digests if (constituency, d) in self._contacts},
                    {d: self._suppressed[d] for d in digests if d in self._suppressed})

    def save_contacts(self, contacts: Iterable[StoredContact]) -> list[str]:
        kept_back = []
        with self._lock:
            for contact in contacts:
                where = (contact.constituency, contact.digest)
                if replaces(self._contacts.get(where), contact):
                    self._contacts[where] = replace(contact)
                    self._shards.setdefault((contact.constituency, contact.digest[0]), set()).add(contact.digest)
                    self._in_order.pop((contact.constituency, contact.digest[0]), None)
                else:
                    kept_back.append(contact.digest)
        return kept_back

    def contact(self, constituency: str, digest: str) -> StoredContact | None:
        with self._lock:
            return self._contacts.get((constituency, digest))

    def delete_contacts(self, constituency: str, digests: Iterable[str]) -> int:
        digests = list(dict.fromkeys(digests))
        with self._lock:
            for digest in digests:
                if self._contacts.pop((constituency, digest), None) is not None:
                    self._shards[(constituency, digest[0])].discard(digest)
                    self._in_order.pop((constituency, digest[0]), None)
        return len(digests)

    def contacts(self, constituency: str, shard: str, after: str | None = None,
                 limit: int | None = None, until: str | None = None) -> Iterator[StoredContact]:
        with self._lock:
            if (constituency, shard) not in self._in_order:
                self._in_order[(constituency, shard)] = sorted(self._shards.get((constituency, shard), ()))
            digests = self._in_order[(constituency, shard)]
            first = bisect.bisect_right(digests, after) if after is not None else 0
            last = bisect.bisect_right(digests, until) if until is not None else len(digests)
            if limit is not None:
                last = min(last, first + limit)
            found = [self._contacts[(constituency, d)] for d in digests[first:last]]
        yield from found

    def suppress(self, digest: str, reason: str, at: datetime) -> bool:
        with self._lock:
            old = self._suppressed.get(digest)
            if old is not None and not (reason == ERASED and old.reason != ERASED):
                return False
            self._suppressed[digest] = Suppression(digest, reason, at)
            return True

    def suppression(self, digest: str) -> Suppression | None:
        with self._lock:
            return self._suppressed.get(digest)

    def lift_suppression(self, digest: str, reasons: Iterable[str]) -> bool:
        with self._lock:
            old = self._suppressed.get(digest)
            if old is None or old.reason not in set(reasons):
                return False
            del self._suppressed[digest]
            return True

    def seen(self, key: str) -> bool:
        with self._lock:
            return key in self._seen

    def first_time(self, key: str, now: datetime) -> bool:
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            return True

    def import_state(self, key: str, etag: str) -> dict[str, Any] | None:
        with self._lock:
            state = self._imports.get((key, etag))
            return dict(state) if state else None

    def generation(self, key: str) -> int:
        with self._lock:
            return self._generations.get(key, 0)

    def next_generation(self, key: str) -> int:
        with self._lock:
            self._generations[key] = self._generations.get(key, 0) + 1
            return self._generations[key]

    def save_import_state(self, key: str, etag: str, state: dict[str, Any], *, version: int) -> bool:
        with self._lock:
            old = self._imports.get((key, etag))
            if (old is None) != (version == 0) or (old is not None and old["version"] != version):
                return False
            self._imports[(key, etag)] = {**state, "pk": f"IMPORT#{key}", "sk": etag, "version": version + 1}
            return True
