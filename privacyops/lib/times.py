"""One time zone on staff pages: Seoul, with its offset, whatever zone a value was stored in."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")


def seoul_time(value: datetime | None, *, seconds: bool = False) -> str:
    """ "2026-09-01 03:30 +09:00" ("" for None)."""
    if value is None:
        return ""
    local = value.astimezone(SEOUL)
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + f" {offset[:3]}:{offset[3:]}"
