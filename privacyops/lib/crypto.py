"""Encryption at rest for secrets and identifiers kept in the database (OAuth tokens, the
identifiers a vendor erasure job needs after the subject row is gone).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) keyed from settings.FIELD_ENCRYPTION_KEY,
a url-safe base64 32-byte key. A value that does not decrypt raises `DecryptionError`, whose
message never contains the ciphertext or the key.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class DecryptionError(Exception):
    """The stored value was not encrypted with the current key (or was tampered with)."""


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode() if isinstance(key, str) else key)
    except (ValueError, TypeError):
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be a url-safe base64 encoding of 32 bytes.") from None


def encrypt(value: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise DecryptionError("A stored secret could not be decrypted with FIELD_ENCRYPTION_KEY.") from None


class EncryptedTextField(models.TextField):
    """A text column stored as Fernet ciphertext; Python code sees the plain string.

    Not searchable or orderable (each encryption is randomised). Empty string and None are
    stored as they are, so "no token" stays visible without decrypting anything.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def value_to_string(self, obj):
        # Serialisers (dumpdata, admin history) would otherwise write the plain secret out.
        return "(encrypted)"
