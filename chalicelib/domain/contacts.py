"""Voters' contacts as the table keeps them (adapters/audience_store): sealed, found by digest, never by number; and
the numbers that must not be messaged again.

What an audience *file* may hold, row by row, is domain/audience.py: only an import needs that (and phonenumbers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.contact_keys import ERASED, SHARDS  # noqa: F401 (also named here)


@dataclass(frozen=True)
class Sealed:
    """What the table keeps of a contact's number and name: ciphertext, and the data key it was sealed with as KMS
    wrapped it (adapters/contact_vault)."""

    blob: str
    wrapped_key: str


@dataclass(frozen=True)
class StoredContact:
    """One opted-in contact of one constituency, as the table holds it: found by `digest`, never by number."""

    constituency: str
    digest: str
    sealed: Sealed
    consent_source: str
    consent_at: datetime
    notice_version: str
    language: str
    source_key: str           # the audience file (or "whatsapp" for a START) the consent came from
    updated_at: datetime
    expires_at: int | None = None  # epoch seconds: DynamoDB's TTL, and the scheduled purge, erase it then
    fingerprint: str = ""     # keyed digest of the sealed fields: a corrected name or booth shows without opening
    generation: int = 0       # which upload of source_key wrote it (a later upload of the same file counts higher)
    row: int = 0              # the row of that upload, and what the import counted it as: an import resumed after
    counted: str = ""         # a crash finds its own rows and counts them as it did, not as 'unchanged'

    @property
    def shard(self) -> str:
        return self.digest[0]


def replaces(stored: StoredContact | None, new: StoredContact) -> bool:
    """Whether `new` may overwrite `stored`: a person keeps their latest consent, and of two uploads of one file
    with the same consent, the later upload wins — so a slow import of a replaced upload, or an older row further
    down the file, never undoes a newer record. (adapters/audience_store writes this as a DynamoDB condition.)"""
    if stored is None or stored.consent_at < new.consent_at:
        return True
    return stored.consent_at == new.consent_at and (stored.source_key != new.source_key
                                                    or stored.generation <= new.generation)


@dataclass(frozen=True)
class Suppression:
    """A number that must not be messaged again: it said STOP, Meta's marketing stop, or was erased. Only the
    digest is kept — never the number — and a re-import of the number is refused by it."""

    digest: str
    reason: str               # stop | marketing_stop | erased
    at: datetime
