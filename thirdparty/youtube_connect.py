"""Connecting a person's YouTube account (policy 3.1.2.2): Google's OAuth 2.0 web-server flow.

The company links a person to `/thirdparty/youtube/connect/?t=<signed token>`; the page shows
the notice, and agreeing sends them to Google with `state`, PKCE (S256), offline access and the
read-only YouTube scope. Google sends them back to `/thirdparty/youtube/callback/`, where the code
is exchanged for tokens (no transaction open during the call) and a grant is stored with its
consent evidence: the notice's text, its SHA-256, the language and the time of agreement.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from datetime import datetime

from django.core import signing
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from privacyops.lib.actors import SYSTEM
from subjects.models import DataSubject

from .connectors import google_oauth
from .models import OAuthGrant, RevokedBy
from .services import connect_youtube_grant, revoke_youtube_grant

logger = logging.getLogger("thirdparty.youtube")

LINK_SALT = "thirdparty.youtube.connect"
LINK_MAX_AGE_SECONDS = 14 * 24 * 3600


class YouTubeConnectError(Exception):
    """`kind` is "refused" (the person said no), "configuration" (our client credentials are
    wrong), "unavailable" (Google did not answer) or "invalid" (a stale or forged callback)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def connect_link(*, subject: DataSubject) -> str:
    """The signed token for the link the company sends the person."""
    return signing.dumps({"s": subject.pk}, salt=LINK_SALT, compress=True)


def subject_for_link(token: str) -> DataSubject | None:
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    return DataSubject.objects.filter(pk=data.get("s")).first() if isinstance(data, dict) else None


def connect_notice() -> str:
    return _(
        "Palette Inc. will read the public statistics of your YouTube channel and videos (views, likes, "
        "comments, subscribers) through the YouTube Data API, with read-only access, to report on our "
        "collaboration. We keep the statistics at most 30 days and refresh or delete them. You can ask "
        "us to disconnect at any time, or remove our access at myaccount.google.com/permissions; we then "
        "revoke our access at Google and delete the statistics."
    )


def start_youtube_connect(*, subject: DataSubject, redirect_uri: str) -> tuple[str, dict]:
    """(Google's authorization URL, what the session keeps until the callback)."""
    notice = connect_notice()
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(32)
    pending = {
        "state": state,
        "subject": subject.pk,
        "verifier": verifier,
        "notice": notice,
        "language": translation.get_language() or "",
        "agreed_at": timezone.now().isoformat(),
    }
    url = google_oauth.authorization_url(state=state, code_challenge=challenge, redirect_uri=redirect_uri)
    return url, pending


def finish_youtube_connect(*, pending: dict | None, state: str, code: str, error: str, redirect_uri: str) -> OAuthGrant:
    if not pending or not state or not secrets.compare_digest(str(pending.get("state", "")), state):
        raise YouTubeConnectError("invalid", _("This connection link has expired. Please start again."))
    if error or not code:
        raise YouTubeConnectError("refused", _("You did not allow access, so nothing was connected."))
    subject = DataSubject.objects.filter(pk=pending.get("subject")).first()
    if subject is None:
        raise YouTubeConnectError("invalid", _("This connection link has expired. Please start again."))
    response = google_oauth.exchange_code(code=code, code_verifier=pending["verifier"], redirect_uri=redirect_uri)
    if google_oauth.is_invalid_client(response):
        logger.error("youtube connect: Google refused our OAuth client (status=%s)", response.status)
        raise YouTubeConnectError(
            "configuration",
            _("Our connection to Google is misconfigured on our side. Nothing was connected; please try again later."),
        )
    body = response.body if isinstance(response.body, dict) else {}
    if not response.ok or not body.get("access_token"):
        logger.warning("youtube connect: code exchange failed status=%s", response.status)
        raise YouTubeConnectError("unavailable", _("Google did not complete the connection. Please try again later."))
    scopes = str(body.get("scope", "")).split()
    if google_oauth.YOUTUBE_SCOPE not in scopes:
        raise YouTubeConnectError("refused", _("You did not allow access, so nothing was connected."))
    notice = str(pending.get("notice", ""))
    with transaction.atomic():
        grant = connect_youtube_grant(
            subject=subject,
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token", ""),
            scopes=scopes,
            expires_in_seconds=int(body.get("expires_in", 3600)),
        )
        grant.consent_text = notice
        grant.consent_text_sha256 = hashlib.sha256(notice.encode()).hexdigest()
        grant.consent_language = pending.get("language", "")[:8]
        grant.consented_at = datetime.fromisoformat(pending["agreed_at"])
        grant.save(update_fields=["consent_text", "consent_text_sha256", "consent_language", "consented_at"])
    logger.info("youtube grant connected grant=%s refresh_token=%s", grant.pk, bool(grant.refresh_token))
    return grant


# --- the person's own "disconnect" (consent's preference page, through privacyops.lib.hooks) ------


def connected_accounts(*, subject_id: int) -> list[dict]:
    """Provider of hooks.connected_accounts: the person's YouTube grants still connected."""
    grants = OAuthGrant.objects.active().filter(subject_id=subject_id).order_by("granted_at", "pk")
    return [
        {"id": grant.pk, "service": "YouTube", "account": grant.channel_id, "connected_at": grant.granted_at}
        for grant in grants
    ]


def disconnect_account(*, subject_id: int, account_id: int) -> bool:
    """Provider of hooks.disconnect_account. Only a grant of this person: any other id, however
    obtained, is False. A grant already disconnected is left as it is (a second click)."""
    grant = OAuthGrant.objects.filter(subject_id=subject_id, pk=account_id).first()
    if grant is None:
        return False
    if grant.revoked_at is None:
        revoke_youtube_grant(grant=grant, by=RevokedBy.SUBJECT, actor=SYSTEM, in_worker=True)
        logger.info("youtube grant disconnected by the person grant=%s", grant.pk)
    return True
