from __future__ import annotations


class ThirdPartyError(Exception):
    """A rule refused the action; the message is safe to show."""
