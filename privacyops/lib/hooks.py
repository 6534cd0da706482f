"""Hooks through which an upper app serves a lower one without an upward import.

`current_policy_version()`: the version of the privacy policy in force, recorded with every
consent. The policy app installs the provider in its AppConfig.ready(); until it does, "".
"""

from __future__ import annotations

from collections.abc import Callable

_policy_version_provider: Callable[[], str] | None = None


def set_policy_version_provider(provider: Callable[[], str]) -> None:
    global _policy_version_provider
    _policy_version_provider = provider


def current_policy_version() -> str:
    return _policy_version_provider() if _policy_version_provider is not None else ""
