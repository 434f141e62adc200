"""Contacts sealed under KMS data keys and found by a keyed digest — against the emulator's KMS and Secrets Manager."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from chalicelib.adapters import aws
from chalicelib.adapters.contact_vault import ContactVault
from chalicelib.errors import ConfigError


@pytest.fixture()
def vault(world):
    """As a Lambda builds it: the stage's key by its alias (CloudFormation), the digest key provisioning made."""
    return lambda: ContactVault(aws.client("kms"), aws.client("secretsmanager"), "alias/prachar-test-audience",
                                "prachar/test/audience-hash-key")


def test_a_digest_is_keyed_stable_and_never_the_number(vault):
    one, other = vault(), vault()
    assert one.digest("+919876543210") == other.digest("+919876543210")
    assert one.digest("+919876543210") != one.digest("+919876543211")
    assert "9876543210" not in one.digest("+919876543210")
    import hashlib

    assert one.digest("+919876543210") != hashlib.sha256(b"+919876543210").hexdigest(), "keyed, not a plain hash"


def test_a_sealed_contact_opens_only_as_itself_and_in_a_fresh_container(vault):
    sealer = vault()
    digest = sealer.digest("+919876543210")
    sealed = sealer.seal(digest, {"phone": "+919876543210", "name": "सीता"})
    assert "9876543210" not in sealed.blob and "सीता" not in sealed.blob
    assert vault().open(digest, sealed) == {"phone": "+919876543210", "name": "सीता"}, "KMS unwraps the data key"
    with pytest.raises(InvalidTag):
        vault().open(sealer.digest("+919876543211"), sealed)  # moved to another contact's item: does not open


def test_each_batch_gets_its_own_data_key(vault):
    sealer = vault()
    first = sealer.seal("a" * 64, {"phone": "+919876543210"})
    assert sealer.seal("b" * 64, {"phone": "+919876543211"}).wrapped_key == first.wrapped_key
    sealer.new_batch()
    assert sealer.seal("c" * 64, {"phone": "+919876543212"}).wrapped_key != first.wrapped_key


def test_provisioning_makes_the_digest_key_once_and_never_replaces_it(world):
    from infra.audience import ensure_audience_hash_key

    secrets = aws.client("secretsmanager")
    made = secrets.get_secret_value(SecretId="prachar/test/audience-hash-key")["SecretString"]
    assert len(made) >= 48
    assert not ensure_audience_hash_key(secrets, "test"), "a second deploy leaves it alone"
    assert secrets.get_secret_value(SecretId="prachar/test/audience-hash-key")["SecretString"] == made


def test_a_missing_or_short_hash_key_is_a_deployment_error(world):
    vault = ContactVault(aws.client("kms"), aws.client("secretsmanager"), "alias/none", "prachar/test/missing")
    with pytest.raises(ConfigError, match="cannot be read"):
        vault.digest("+919876543210")
    aws.client("secretsmanager").create_secret(Name="prachar/test/short", SecretString="short")
    with pytest.raises(ConfigError, match="shorter than"):
        ContactVault(aws.client("kms"), aws.client("secretsmanager"), "alias/none", "prachar/test/short").digest("+91")
