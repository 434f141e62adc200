"""The key of voters' number digests: made once per stage, in Secrets Manager, and never changed.

A digest is how the table finds a number (dedup, the suppression list): a new key would make every stored digest
unfindable — a STOP forgotten. So it is created when missing and otherwise left alone (CloudFormation could make a
random secret, but the emulator does not run AWS::SecretsManager::Secret, and one code path serves both)."""

from __future__ import annotations

import secrets
from typing import Any


def hash_key_name(stage: str) -> str:
    return f"prachar/{stage}/audience-hash-key"


def ensure_audience_hash_key(secretsmanager: Any, stage: str) -> bool:
    """Create the stage's digest key if it does not exist; True when this call created it."""
    try:
        secretsmanager.create_secret(Name=hash_key_name(stage), SecretString=secrets.token_urlsafe(48),
                                     Description="Prachar: the key of voters' phone-number digests. Never change it: "
                                                 "every stored digest, and every STOP, depends on it.")
    except secretsmanager.exceptions.ResourceExistsException:
        return False
    return True
