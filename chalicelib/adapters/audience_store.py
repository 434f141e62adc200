"""Voters' contacts and the suppression list, in the campaign's table (DynamoDB).

- `CONTACT#<constituency>#<shard>` / `<digest>`: one opted-in contact, sealed. Sixteen partitions per
  constituency (the digest's first hex digit), so an import writing thousands a second and a broadcast reading
  them spread over partitions instead of one hot key.
- `SUPPRESS#<digest>` / `SUPPRESS`: a number that said stop, or was erased — global to the campaign, checked on
  every import and every send, and kept after the contact itself is gone.
- `IMPORT#<key>` / `<etag>`: an audience file's import, its progress and counts, so a re-upload of the same bytes
  changes nothing and a long file continues where the last invocation stopped. `IMPORT#<key>` / `GENERATION`
  counts the uploads of the key that were imported, so the later upload of a file wins over the earlier.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo_codec import from_item, to_item, to_value
from chalicelib.adapters.table_calls import ConditionFailed as _ConditionFailed
from chalicelib.adapters.table_calls import TableCalls
from chalicelib.domain.contacts import ERASED, Sealed, StoredContact, Suppression
from chalicelib.domain.times import from_iso, to_iso, to_precise_iso
from chalicelib.threads import map_in_threads

SEEN_FOR_SECONDS = 7 * 24 * 3600  # Meta retries a webhook for up to 7 days
PARALLEL_PUTS = 8  # a conditional write is one item per call: several in flight keep an import's batch quick
# domain/audience.replaces, as DynamoDB evaluates it on the stored item
# (An item without a generation was written before uploads were numbered, its consent time in another text form:
# any upload now is the later one.)
REPLACES = ("attribute_not_exists(pk) OR attribute_not_exists(generation) OR consent_at < :c OR "
            "(consent_at = :c AND (source_key <> :k OR generation <= :g))")


def contact_key(constituency: str, digest: str) -> dict[str, str]:
    return {"pk": f"CONTACT#{constituency}#{digest[0]}", "sk": digest}


def suppression_key(digest: str) -> dict[str, str]:
    return {"pk": f"SUPPRESS#{digest}", "sk": "SUPPRESS"}


def contact_item(contact: StoredContact) -> dict[str, Any]:
    item = {**contact_key(contact.constituency, contact.digest), "kind": "contact",
            "constituency": contact.constituency, "blob": contact.sealed.blob,
            "wrapped_key": contact.sealed.wrapped_key, "consent_source": contact.consent_source,
            "consent_at": to_precise_iso(contact.consent_at), "notice_version": contact.notice_version,
            "language": contact.language, "source_key": contact.source_key, "updated_at": to_iso(contact.updated_at),
            "fingerprint": contact.fingerprint, "generation": contact.generation, "row": contact.row,
            "counted": contact.counted}
    if contact.expires_at is not None:
        item["expires_at"] = contact.expires_at
    return item


def contact_from(item: dict[str, Any]) -> StoredContact:
    return StoredContact(
        constituency=item["constituency"], digest=item["sk"], sealed=Sealed(item["blob"], item["wrapped_key"]),
        consent_source=item["consent_source"], consent_at=from_iso(item["consent_at"]),
        notice_version=item["notice_version"], language=item["language"], source_key=item["source_key"],
        updated_at=from_iso(item["updated_at"]),
        expires_at=int(item["expires_at"]) if item.get("expires_at") is not None else None,
        fingerprint=item.get("fingerprint", ""), generation=int(item.get("generation", 0)), row=int(item.get("row", 0)),
        counted=item.get("counted", ""))


def suppression_from(item: dict[str, Any]) -> Suppression:
    return Suppression(digest=item["pk"].split("#", 1)[1], reason=item["reason"], at=from_iso(item["at"]))


class AudienceStore(TableCalls):
    # ---- contacts ------------------------------------------------------------------------------------
    def known(self, constituency: str, digests: Iterable[str]) -> tuple[dict[str, StoredContact],
                                                                       dict[str, Suppression]]:
        """The contacts of `constituency` and the suppressions among `digests` — reads of 100 keys at a time."""
        digests = list(dict.fromkeys(digests))
        keys = [contact_key(constituency, d) for d in digests] + [suppression_key(d) for d in digests]
        contacts, suppressed = {}, {}
        for item in self._batch_get(keys):
            if item["pk"].startswith("SUPPRESS#"):
                found = suppression_from(item)
                suppressed[found.digest] = found
            else:
                contacts[item["sk"]] = contact_from(item)
        return contacts, suppressed

    def save_contacts(self, contacts: Iterable[StoredContact]) -> list[str]:
        """Write each contact unless the table holds a newer record of them (domain/audience.replaces); the digests
        of those kept back. One conditional PutItem each — a batch write cannot carry a condition."""
        contacts = list(contacts)
        if not contacts:
            return []
        written = map_in_threads(self._put_contact, contacts, min(PARALLEL_PUTS, len(contacts)))
        return [c.digest for c, ok in zip(contacts, written, strict=True) if not ok]

    def _put_contact(self, contact: StoredContact) -> bool:
        try:
            self._call("put_item", Item=to_item(contact_item(contact)), ConditionExpression=REPLACES,
                       ExpressionAttributeValues={":c": to_value(to_precise_iso(contact.consent_at)),
                                                  ":k": to_value(contact.source_key),
                                                  ":g": to_value(contact.generation)})
        except _ConditionFailed:
            return False
        return True

    def contact(self, constituency: str, digest: str) -> StoredContact | None:
        item = self._get(contact_key(constituency, digest))
        return contact_from(item) if item else None

    def delete_contacts(self, constituency: str, digests: Iterable[str]) -> int:
        return self._batch_write([{"DeleteRequest": {"Key": to_item(contact_key(constituency, d))}}
                                  for d in dict.fromkeys(digests)])

    def contacts(self, constituency: str, shard: str, after: str | None = None,
                 limit: int | None = None, until: str | None = None) -> Iterator[StoredContact]:
        """One shard of a constituency's contacts in digest order, page by page — from after `after` up to `until`,
        and at most `limit` of them (a broadcast's chunk); a purge reads all sixteen whole."""
        extra: dict[str, Any] = {"ExclusiveStartKey": to_item(contact_key(constituency, after))} if after else {}
        for found, item in enumerate(self._query(f"CONTACT#{constituency}#{shard}", until, **extra,
                                                 **({"Limit": limit} if limit else {})), start=1):
            yield contact_from(item)
            if limit and found >= limit:
                return

    # ---- suppression ---------------------------------------------------------------------------------
    def suppress(self, digest: str, reason: str, at: datetime) -> bool:
        """Suppress the number from now on; True when it was not suppressed before. An erasure replaces a stop (the
        stronger word), never the reverse."""
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if reason == ERASED:
            condition = {"ConditionExpression": "attribute_not_exists(pk) OR reason <> :erased",
                         "ExpressionAttributeValues": {":erased": to_value(ERASED)}}
        try:
            self._call("put_item", Item=to_item({**suppression_key(digest), "reason": reason, "at": to_iso(at)}),
                       **condition)
        except _ConditionFailed:
            return False
        return True

    def suppression(self, digest: str) -> Suppression | None:
        item = self._get(suppression_key(digest))
        return suppression_from(item) if item else None

    def lift_suppression(self, digest: str, reasons: Iterable[str]) -> bool:
        """A START: lift a stop the person gave themselves (never an erasure); False if there was none to lift."""
        reasons = list(reasons)
        names = {f":r{i}": to_value(r) for i, r in enumerate(reasons)}
        try:
            self._call("delete_item", Key=to_item(suppression_key(digest)),
                       ConditionExpression=f"reason IN ({', '.join(names)})", ExpressionAttributeValues=names)
        except _ConditionFailed:
            return False
        return True

    def seen(self, key: str) -> bool:
        return self._get({"pk": f"SEEN#{key}", "sk": "SEEN"}) is not None

    def first_time(self, key: str, now: datetime) -> bool:
        """Whether `key` (an inbound message's id) is seen for the first time: Meta redelivers webhooks, and a STOP is
        confirmed once. Forgotten after a week (DynamoDB's TTL)."""
        try:
            self._call("put_item", Item=to_item({"pk": f"SEEN#{key}", "sk": "SEEN", "at": to_iso(now),
                                                 "expires_at": int(now.timestamp()) + SEEN_FOR_SECONDS}),
                       ConditionExpression="attribute_not_exists(pk)")
        except _ConditionFailed:
            return False
        return True

    # ---- imports -------------------------------------------------------------------------------------
    def import_state(self, key: str, etag: str) -> dict[str, Any] | None:
        return self._get({"pk": f"IMPORT#{key}", "sk": etag})

    def generation(self, key: str) -> int:
        """How many uploads of `key` have begun an import (0: none)."""
        item = self._get({"pk": f"IMPORT#{key}", "sk": "GENERATION"})
        return int(item["generation"]) if item else 0

    def next_generation(self, key: str) -> int:
        """Count one more upload of `key` and return its number: the later upload's number is the higher."""
        response = self._call("update_item", Key=to_item({"pk": f"IMPORT#{key}", "sk": "GENERATION"}),
                              UpdateExpression="ADD generation :one",
                              ExpressionAttributeValues={":one": to_value(1)}, ReturnValues="UPDATED_NEW")
        return int(from_item(response["Attributes"])["generation"])

    def save_import_state(self, key: str, etag: str, state: dict[str, Any], *, version: int) -> bool:
        """Write the import's progress as `version` + 1 — only over `version` (0: a new import), so two invocations
        of one import never both continue it."""
        item = {**state, "pk": f"IMPORT#{key}", "sk": etag, "version": version + 1}
        condition = "attribute_not_exists(pk)" if version == 0 else "version = :v"
        values = {} if version == 0 else {"ExpressionAttributeValues": {":v": to_value(version)}}
        try:
            self._call("put_item", Item=to_item(item), ConditionExpression=condition, **values)
        except _ConditionFailed:
            return False
        return True
