"""Encryption at rest for secrets and identifiers kept in the database (OAuth tokens, the
identifiers a vendor erasure job needs after the subject row is gone).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under settings.FIELD_ENCRYPTION_KEYS,
newest first, through MultiFernet: values are encrypted with the first key and decrypted with any
of them, so a key is rotated by adding the new one in front, re-encrypting
(`manage.py rotate_encryption_key`) and then dropping the old one.

A stored value that no configured key decrypts is read as an `UndecryptableValue`, so a page that
lists such rows still loads and shows a marker in its place. It is not a str: every use of the
secret goes through `reveal()`, which raises `DecryptionError` for it, and formatting it into a
string (an Authorization header) raises too. No message here contains a ciphertext or a key.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext_lazy

UNDECRYPTABLE_LABEL = gettext_lazy("(cannot be decrypted with the configured keys)")


class DecryptionError(Exception):
    """No configured key decrypts the stored value (encrypted under a removed key, or tampered with)."""


class UndecryptableValue:
    """What an EncryptedTextField holds when no key in FIELD_ENCRYPTION_KEYS decrypts it.

    `str()` gives the marker, for the admin and templates. The stored token is kept so that saving
    the row (e.g. the admin's change form) writes it back unchanged instead of destroying it.
    """

    __slots__ = ("token",)

    def __init__(self, token: str):
        self.token = token

    def __str__(self) -> str:
        return str(UNDECRYPTABLE_LABEL)

    def __repr__(self) -> str:
        return "<UndecryptableValue>"

    def __format__(self, spec: str) -> str:
        # f"Bearer {token}" must not quietly send the marker to a vendor.
        raise DecryptionError(_UNDECRYPTABLE_MESSAGE)

    def __eq__(self, other) -> bool:
        return isinstance(other, UndecryptableValue) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)


_UNDECRYPTABLE_MESSAGE = "A stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS."


@lru_cache(maxsize=8)
def _fernets(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    try:
        fernets = [Fernet(key) for key in keys]
        return MultiFernet(fernets), fernets[0]
    except (ValueError, TypeError, IndexError):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must list url-safe base64 encodings of 32 bytes, newest first."
        ) from None


def _current() -> tuple[MultiFernet, Fernet]:
    return _fernets(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    multi, _newest = _current()
    return multi.encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    multi, _newest = _current()
    try:
        return multi.decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise DecryptionError(_UNDECRYPTABLE_MESSAGE) from None


def rotate(token: str) -> str | None:
    """The token re-encrypted under the newest key (MultiFernet.rotate keeps its timestamp), or None
    when it already is. Raises DecryptionError when no configured key decrypts it."""
    multi, newest = _current()
    try:
        newest.decrypt(token.encode())
        return None
    except (InvalidToken, ValueError):
        pass
    try:
        return multi.rotate(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise DecryptionError(_UNDECRYPTABLE_MESSAGE) from None


def reveal(value):
    """The plain value of an encrypted field, for code that uses the secret (a vendor call); raises
    DecryptionError when it could not be decrypted. Other values ("", None) pass through."""
    if isinstance(value, UndecryptableValue):
        raise DecryptionError(_UNDECRYPTABLE_MESSAGE)
    return value


def is_undecryptable(value) -> bool:
    return isinstance(value, UndecryptableValue)


class EncryptedTextField(models.TextField):
    """A text column stored as Fernet ciphertext; Python code sees the plain string, or an
    `UndecryptableValue` when no configured key decrypts it (read it through `reveal()`).

    Not searchable or orderable (each encryption is randomised). Empty string and None are
    stored as they are, so "no token" stays visible without decrypting anything.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return decrypt(value)
        except DecryptionError:
            # Raising here would break every query over the table (an admin list, a count of jobs).
            return UndecryptableValue(value)

    def to_python(self, value):
        if isinstance(value, UndecryptableValue):
            return value
        return super().to_python(value)

    def get_prep_value(self, value):
        if isinstance(value, UndecryptableValue):
            return value.token
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def value_to_string(self, obj):
        # Serialisers (dumpdata, admin history) would otherwise write the plain secret out.
        return "(encrypted)"
