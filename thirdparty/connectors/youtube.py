"""YouTube Data API v3 statistics: `GET {YOUTUBE_API_BASE_URL}/youtube/v3/{channels|videos}`
with part=statistics, id=<comma-separated, at most 50>, bearer token of the person's grant."""

from __future__ import annotations

from django.conf import settings

from .http import VendorResponse, call

MAX_IDS_PER_CALL = 50
PATHS = {"channel": "/youtube/v3/channels", "video": "/youtube/v3/videos"}


def fetch_statistics(access_token: str, resource: str, ids: list[str]) -> list[VendorResponse]:
    responses = []
    for start in range(0, len(ids), MAX_IDS_PER_CALL):
        chunk = ids[start : start + MAX_IDS_PER_CALL]
        response = call(
            "youtube",
            "GET",
            settings.YOUTUBE_API_BASE_URL + PATHS[resource],
            headers={"Authorization": f"Bearer {access_token}"},
            params={"part": "statistics", "id": ",".join(chunk), "maxResults": str(MAX_IDS_PER_CALL)},
        )
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
