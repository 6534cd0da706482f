from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from privacyops.lib import crypto
from thirdparty import services
from thirdparty.models import JobKind, VendorErasureJob


def test_encrypt_round_trips_and_hides_the_plaintext():
    token = crypto.encrypt("1//refresh-token")
    assert "refresh" not in token
    assert crypto.decrypt(token) == "1//refresh-token"


def test_a_value_encrypted_with_another_key_fails_without_echoing_it(settings):
    token = crypto.encrypt("secret-value")
    settings.FIELD_ENCRYPTION_KEYS = ["QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="]
    with pytest.raises(crypto.DecryptionError) as info:
        crypto.decrypt(token)
    assert token not in str(info.value) and "secret-value" not in str(info.value)


def test_it_encrypts_with_the_first_key_and_decrypts_with_any(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    under_old = crypto.encrypt("1//old-token")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    under_new = crypto.encrypt("1//new-token")
    assert crypto.decrypt(under_old) == "1//old-token" and crypto.decrypt(under_new) == "1//new-token"
    assert Fernet(new).decrypt(under_new.encode()) == b"1//new-token"
    assert crypto.rotate(under_new) is None
    assert Fernet(new).decrypt(crypto.rotate(under_old).encode()) == b"1//old-token"


def test_a_job_keeps_its_identifiers_encrypted_in_the_database(alice, vendors):
    [job, *_] = services.create_erasure_jobs(subject=alice, reference="C-1", kind=JobKind.SUPPRESS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT identifiers FROM thirdparty_vendorerasurejob WHERE id = %s", [job.pk])
        (stored,) = cursor.fetchone()
    assert stored and "alice@example.com" not in stored
    assert VendorErasureJob.objects.get(pk=job.pk).load_identifiers()["email"] == "alice@example.com"
    assert "alice" not in repr(job) and "alice" not in str(job)
