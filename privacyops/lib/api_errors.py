"""Validation errors of the JSON API as a person can read them."""

from __future__ import annotations


def field_errors(errors: list[dict]) -> list[dict]:
    """pydantic's (or ninja's) error list as `[{"field": "a.b", "message": "..."}]`; an error
    inside a list also names the item's position (`"index": 3`, the first list on its path), so a
    batch's refused items can be found by position."""
    readable = []
    for error in errors:
        # Drop the request part ("body", "payload") and pydantic's internal union tags.
        parts = [str(part) for part in error.get("loc", ())]
        if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
            parts = parts[1:]
        if parts and parts[0] == "payload":
            parts = parts[1:]
        location = [part for part in parts if not any(c in part for c in "[(")]
        item = {"field": ".".join(location) or None, "message": error.get("msg", "is invalid")}
        index = next((part for part in error.get("loc", ()) if isinstance(part, int)), None)
        if index is not None:
            item["index"] = index
        readable.append(item)
    return readable
