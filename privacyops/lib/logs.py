"""No link secret in a log line.

The links emailed to people carry their secret in the path: verification, status and download
links (/dsar/verify/<token>/ ...), the preference link (/consent/preferences/<token>/, which can
change a person's consents for 90 days), the one-click opt-out link (/consent/opt-out/<token>/) and
Meta's deletion status page. Django logs the path of
every 4xx answer (`django.request`: "Not Found: /dsar/verify/<token>/") and of every CSRF failure
(`django.security.csrf`); gunicorn logs the request line of a request that failed or did not parse.

`RedactSecrets` sits on the handlers (settings.LOGGING's console, gunicorn's error and access logs
in gunicorn.conf.py) and replaces, in the message, its arguments, the extra attributes a formatter
may print (Django's `request`) and the exception text:

- the segment after each route of SECRET_ROUTES (from the URL confs of dsar, consent, thirdparty;
  a test walks the URL confs and fails when a route with a token or code parameter is missing);
- any path segment shaped like django.core.signing output (value:signature or
  value:timestamp:signature) or like a random token (32+ base64url characters), whatever its route;
- the value of query parameters that carry secrets or search terms (SECRET_QUERY_NAMES);
- the signature quoted by django.core.signing's BadSignature, and the client address in
  gunicorn's "Invalid request from ip=..." (logs carry no IPs).

Imports nothing from Django: gunicorn's master loads it before the application.
"""

from __future__ import annotations

import logging
import re

PLACEHOLDER = "[redacted]"

# Routes (without their leading slash) whose next path segment is a link secret.
SECRET_ROUTES = (
    "dsar/verify",
    "dsar/status",
    "dsar/download",
    "consent/preferences",
    "consent/opt-out",
    "thirdparty/meta/deletion",
)
SECRET_QUERY_NAMES = (
    "token",
    "code",
    "state",
    "key",
    "api_key",
    "access_token",
    "refresh_token",
    "id_token",
    "signature",
    "sig",
    "signed_request",
    "secret",
    "password",
    "email",
    "q",
    "t",  # the YouTube connect link's signed token
)

_SEGMENT = r"[^/?#&\s\"'<>]+"
_SEGMENT_END = r"(?=[/?#&\s\"'<>),;\]]|$)"
_RULES = (
    (re.compile(r"(/(?:" + "|".join(map(re.escape, SECRET_ROUTES)) + r")/)" + _SEGMENT), rf"\1{PLACEHOLDER}"),
    # Signed: the signature (43 base64url characters for HMAC-SHA256) follows the last colon,
    # which a raw request line may carry percent-encoded.
    (re.compile(r"(?<=/)[^/?#&\s\"'<>]*(?::|%3[Aa])[A-Za-z0-9_-]{20,}" + _SEGMENT_END), PLACEHOLDER),
    (re.compile(r"(?<=/)[A-Za-z0-9_-]{32,}" + _SEGMENT_END), PLACEHOLDER),
    (
        re.compile(r"([?&;](?:" + "|".join(SECRET_QUERY_NAMES) + r")=)[^&#;\s\"'<>]*", re.IGNORECASE),
        rf"\1{PLACEHOLDER}",
    ),
    # django.core.signing's BadSignature quotes the signature it refused.
    (re.compile(r'(Signature ")[^"]*(" does not match)'), rf"\1{PLACEHOLDER}\2"),
    (re.compile(r"\bip=[0-9A-Fa-f:.]*[0-9A-Fa-f]"), f"ip={PLACEHOLDER}"),
)

# Attributes every record has (the message, its arguments and the exception are handled apart).
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({})))


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record in place; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format call: the handler reports it as usual
            return True
        redacted = redact(message)
        if redacted != message:
            # Arguments are folded into the message: a request or exception among them would print
            # its own repr, path included.
            record.msg, record.args = redacted, ()
        for name, value in list(vars(record).items()):
            if name in _RECORD_FIELDS:
                continue
            if name == "request" and value is not None:
                # Django's request and security loggers attach the request (its repr is the path).
                record.request = redact(repr(value))
            elif isinstance(value, str):
                setattr(record, name, redact(value))
        if record.exc_info or record.exc_text:
            # An exception's message may quote the path or a token (BadSignature quotes the signature).
            exc_text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            if redact(exc_text) != exc_text:
                # Formatters print exc_text when it is set; without exc_info none can re-render it.
                record.exc_text, record.exc_info = redact(exc_text), None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
