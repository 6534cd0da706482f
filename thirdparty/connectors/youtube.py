"""YouTube Data API v3 statistics through google-api-python-client, built from the bundled
discovery document (`static_discovery=True`): `youtube.channels.list` / `youtube.videos.list`
with part=statistics and id=<comma-separated, at most 50>, the person's access token.

No `maxResults` is sent: the API takes it with `chart` or `myRating` only, never with `id`
(the parameter's description in youtube v3's discovery document). Tokens are refreshed by the
caller (services), so a 401 comes back here as a 401: the grant was revoked at Google.
"""

from __future__ import annotations

import threading

import httplib2
from django.conf import settings
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient import discovery

from .google_api import execute
from .http import VendorResponse

MAX_IDS_PER_CALL = 50
METHOD_IDS = {"channel": "youtube.channels.list", "video": "youtube.videos.list"}

_local = threading.local()


def _service():
    endpoint = settings.YOUTUBE_API_BASE_URL.rstrip("/") + "/"
    cached = getattr(_local, "service", None)
    if cached is None or cached[0] != endpoint:
        service = discovery.build(
            "youtube",
            "v3",
            http=httplib2.Http(),
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": endpoint},
        )
        _local.service = cached = (endpoint, service)
    return cached[1]


def fetch_statistics(access_token: str, resource: str, ids: list[str]) -> list[VendorResponse]:
    collection = _service().channels() if resource == "channel" else _service().videos()
    # The person's token, no refresh here (max_refresh_attempts=0): the caller refreshes it.
    http = AuthorizedHttp(
        Credentials(token=access_token),
        http=httplib2.Http(timeout=settings.VENDOR_HTTP_TIMEOUT_SECONDS),
        max_refresh_attempts=0,
    )
    responses = []
    for start in range(0, len(ids), MAX_IDS_PER_CALL):
        chunk = ids[start : start + MAX_IDS_PER_CALL]
        response = execute("youtube", collection.list(part="statistics", id=",".join(chunk)), http=http)
        responses.append(response)
        if not response.ok:
            break
    return responses


def _count(stats: dict, key: str) -> int | None:
    value = stats.get(key)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def parse_items(body) -> dict[str, dict]:
    """{resource id: {"view_count": ..., ...}} from a list response."""
    items = body.get("items", []) if isinstance(body, dict) else []
    parsed = {}
    for item in items:
        if not isinstance(item, dict) or "id" not in item:
            continue
        stats = item.get("statistics") or {}
        parsed[str(item["id"])] = {
            "view_count": _count(stats, "viewCount"),
            "like_count": _count(stats, "likeCount"),
            "dislike_count": _count(stats, "dislikeCount"),
            "comment_count": _count(stats, "commentCount"),
            "subscriber_count": _count(stats, "subscriberCount"),
        }
    return parsed
