"""Signed links emailed to requesters. The random part of a verification link is stored only as
a hash and cleared on first use, so a link works once; the signature carries its age."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.core import signing
from django.utils.crypto import constant_time_compare

VERIFY_SALT = "dsar.verify"
DOWNLOAD_SALT = "dsar.download"
STATUS_SALT = "dsar.status"


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


class DownloadsUsedUp(LinkExpired):
    """The package was downloaded DSAR_DOWNLOADS_MAX times."""


@dataclass(frozen=True)
class LinkPayload:
    reference: str
    nonce: str


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def hash_nonce(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def nonce_matches(nonce: str, stored_hash: str) -> bool:
    return bool(stored_hash) and constant_time_compare(hash_nonce(nonce), stored_hash)


def _sign(salt: str, reference: str, nonce: str) -> str:
    return signing.TimestampSigner(salt=salt).sign(f"{reference}.{nonce}")


def _unsign(salt: str, token: str, max_age_seconds: float) -> LinkPayload:
    if not token or len(token) > 300:
        raise LinkInvalid
    try:
        value = signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age_seconds)
    except signing.SignatureExpired:
        raise LinkExpired from None
    except signing.BadSignature:
        raise LinkInvalid from None
    reference, _, nonce = value.partition(".")
    if not reference or not nonce:
        raise LinkInvalid
    return LinkPayload(reference, nonce)


def sign_verification(reference: str, nonce: str) -> str:
    return _sign(VERIFY_SALT, reference, nonce)


def read_verification(token: str, max_age_seconds: float) -> LinkPayload:
    return _unsign(VERIFY_SALT, token, max_age_seconds)


def sign_download(reference: str, nonce: str) -> str:
    return _sign(DOWNLOAD_SALT, reference, nonce)


def read_download(token: str, max_age_seconds: float) -> LinkPayload:
    return _unsign(DOWNLOAD_SALT, token, max_age_seconds)


def sign_status(reference: str) -> str:
    return signing.Signer(salt=STATUS_SALT).sign(reference)


def read_status(token: str) -> str:
    if not token or len(token) > 200:
        raise LinkInvalid
    try:
        return signing.Signer(salt=STATUS_SALT).unsign(token)
    except signing.BadSignature:
        raise LinkInvalid from None
