"""Strict building blocks for API input schemas: unknown fields, naive datetimes and
malformed emails are refused with a message that names the field."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import ip_address
from socket import AF_INET, inet_ntop, inet_pton
from typing import Annotated

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator


class StrictSchema(BaseModel):
    # Plain pydantic rather than ninja's Schema: that one validates a model with extra="forbid"
    # twice and wraps it for ORM attribute access, which cost more CPU than a visit's INSERT
    # (bench/load_public.py). Endpoints return dicts, so attribute access is not needed.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value):
        # PostgreSQL cannot store NUL in text; refuse it here rather than fail at INSERT.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


def _email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("is not a valid email address") from None
    return value.lower()


def _ip(value: str) -> str:
    # An IPv4 address already in its one canonical spelling is accepted as it is: checking it with
    # inet_pton/inet_ntop costs a tenth of ipaddress' parser, which a batch of visits felt.
    try:
        if inet_ntop(AF_INET, inet_pton(AF_INET, value)) == value:
            return value
    except OSError:
        pass
    try:
        return str(ip_address(value))
    except ValueError:
        raise ValueError("is not a valid IPv4 or IPv6 address") from None


IPAddress = Annotated[str, StringConstraints(max_length=45), AfterValidator(_ip)]
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(_email)]


def _timestamp(value: datetime) -> datetime:
    # Stored in UTC; a time far outside the service's life is a client bug, not a record.
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved by its offset leaves datetime's range
        value = None
    if value is None or not EARLIEST_TIMESTAMP <= value <= LATEST_TIMESTAMP:
        raise ValueError(f"must be between {EARLIEST_TIMESTAMP:%Y-%m-%d} and {LATEST_TIMESTAMP:%Y-%m-%d}")
    return value


EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIMESTAMP = datetime(2100, 1, 1, tzinfo=UTC)
# Timestamps must carry a time zone: a naive time from another service would be stored wrong.
Timestamp = Annotated[AwareDatetime, AfterValidator(_timestamp)]


def Text(max_length: int, min_length: int = 0):  # noqa: N802 (reads like a type)
    return Annotated[str, Field(min_length=min_length, max_length=max_length)]
