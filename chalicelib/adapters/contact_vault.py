"""Voters' phone numbers and names, protected (DPDP Act 2023: "reasonable security safeguards").

- A number is *found* by its keyed digest — HMAC-SHA256 under a secret key kept in Secrets Manager — so the
  table can dedup and suppress without holding the number, and a leaked table cannot be reversed by trying
  every 10-digit number (which an unkeyed hash of a phone number would allow in minutes).
- A contact is *read back* (to send them a message) from an envelope: AES-256-GCM under a data key that KMS
  generates and only KMS can unwrap. One data key seals a whole import batch; each item carries the wrapped key,
  and the contact's digest is the GCM associated data, so a sealed blob moved to another item does not open.
- People see `+91XXXXXX1234` (domain/phone.mask), never more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from typing import Any

from chalicelib.domain.contacts import Sealed
from chalicelib.errors import ConfigError

NONCE_BYTES = 12
MIN_HASH_KEY_BYTES = 32


class ContactVault:
    """Digest, seal and open contacts. One per container: the hash key is read once, data keys are cached."""

    def __init__(self, kms: Any, secretsmanager: Any, key_id: str, hash_key_secret: str) -> None:
        self._kms, self._secrets = kms, secretsmanager
        self._key_id, self._hash_key_secret = key_id, hash_key_secret
        self._hash_key: bytes | None = None
        self._sealing: tuple[Any, str] | None = None  # (AESGCM, wrapped key) for the current batch
        self._opening: dict[str, Any] = {}  # wrapped key → AESGCM
        self._lock = threading.Lock()

    # ---- finding -------------------------------------------------------------------------------------
    def digest(self, e164: str) -> str:
        return hmac.new(self._key(), e164.encode("ascii"), hashlib.sha256).hexdigest()

    def fingerprint(self, fields: dict[str, Any]) -> str:
        """A keyed digest of a contact's sealed fields: tells a corrected name or booth apart without opening it."""
        canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hmac.new(self._key(), canonical.encode("utf-8"), hashlib.sha256).hexdigest()

    def _key(self) -> bytes:
        if self._hash_key is None:
            try:
                value = self._secrets.get_secret_value(SecretId=self._hash_key_secret)["SecretString"]
            except Exception as exc:  # any failure: the deployment lacks its secret
                raise ConfigError(f"the audience hash key {self._hash_key_secret} cannot be read: "
                                  f"{type(exc).__name__}") from None
            key = value.encode("utf-8")
            if len(key) < MIN_HASH_KEY_BYTES:
                raise ConfigError(f"the audience hash key {self._hash_key_secret} is shorter than "
                                  f"{MIN_HASH_KEY_BYTES} bytes")
            self._hash_key = key
        return self._hash_key

    # ---- sealing -------------------------------------------------------------------------------------
    def new_batch(self) -> None:
        """Seal what follows under a fresh data key (an import calls this once per batch)."""
        with self._lock:
            self._sealing = None

    def seal(self, digest: str, fields: dict[str, Any]) -> Sealed:
        cipher, wrapped = self._sealer()
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        blob = nonce + cipher.encrypt(nonce, plain, digest.encode("ascii"))
        return Sealed(base64.b64encode(blob).decode("ascii"), wrapped)

    def open(self, digest: str, sealed: Sealed) -> dict[str, Any]:
        cipher = self._opener(sealed.wrapped_key)
        raw = base64.b64decode(sealed.blob)
        plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], digest.encode("ascii"))
        return json.loads(plain)

    def _sealer(self) -> tuple[Any, str]:
        with self._lock:
            if self._sealing is None:
                from cryptography.hazmat.primitives.ciphers.aead import AESGCM

                answer = self._kms.generate_data_key(KeyId=self._key_id, KeySpec="AES_256")
                wrapped = base64.b64encode(answer["CiphertextBlob"]).decode("ascii")
                self._sealing = (AESGCM(answer["Plaintext"]), wrapped)
                self._opening[wrapped] = self._sealing[0]
            return self._sealing

    def _opener(self, wrapped: str) -> Any:
        with self._lock:
            cipher = self._opening.get(wrapped)
        if cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            plain = self._kms.decrypt(CiphertextBlob=base64.b64decode(wrapped), KeyId=self._key_id)["Plaintext"]
            cipher = AESGCM(plain)
            with self._lock:
                self._opening[wrapped] = cipher
        return cipher
