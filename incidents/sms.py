"""The SMS gateway client: one POST of JSON {to, from, text} per message.

The shape is a generic HTTP gateway's, not a vendor's, and has not been confirmed against any
provider: adapt `send_sms` to the company's SMS provider before relying on it. Korean providers
(e.g. NHN Cloud, Aligo, Solapi) also require the sender number (`SMS_SENDER_NUMBER`) to be
registered with them in advance (발신번호 사전등록, Telecommunications Business Act art. 84-2), or
they refuse the message.

    POST {SMS_GATEWAY_URL}
    Authorization: Bearer {SMS_GATEWAY_API_KEY}
    Content-Type: application/json
    {"to": "+821012345678", "from": "0212345678", "text": "..."}

Any 2xx is a success. A timeout, a dropped connection, 429 or 5xx is worth retrying (`SmsError`
with retryable=True); any other answer is not. Errors name the status only: the number and the
text are never logged or kept.
"""

from __future__ import annotations

import logging

import requests
from django.conf import settings

logger = logging.getLogger("incidents.sms")

RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}
VENDOR_CONFIRMED = False


class SmsError(Exception):
    def __init__(self, reason: str, *, retryable: bool):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


def configured() -> str:
    """ "" when SMS can be sent, else which settings are missing."""
    missing = [
        name for name in ("SMS_GATEWAY_URL", "SMS_GATEWAY_API_KEY", "SMS_SENDER_NUMBER") if not getattr(settings, name)
    ]
    return f"{', '.join(missing)} not set" if missing else ""


def send_sms(*, to: str, text: str, session: requests.Session | None = None) -> None:
    """Send one message; raise SmsError when the gateway does not accept it."""
    problem = configured()
    if problem:
        raise SmsError(problem, retryable=False)
    http = session or requests
    try:
        response = http.post(
            settings.SMS_GATEWAY_URL,
            json={"to": to, "from": settings.SMS_SENDER_NUMBER, "text": text},
            headers={"Authorization": f"Bearer {settings.SMS_GATEWAY_API_KEY}"},
            timeout=settings.SMS_GATEWAY_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        raise SmsError(type(exc).__name__, retryable=True) from None
    if 200 <= response.status_code < 300:
        return
    raise SmsError(f"HTTP {response.status_code}", retryable=response.status_code in RETRYABLE_STATUSES)
