"""How an app serves an app below it: the project's one way to extend across the layers.

Imports point down (DESIGN.md; the import-linter contract in pyproject.toml checks it). When a
lower app needs an answer that only an app above it knows, it does not import upward, look a model
up by name, or send a signal that nobody may be listening to. There are two doors, and only two.

**Deletion guards**, for "may these rows be destroyed?". The personal-data registry
(`subjects/registry.py`) passes every deletion (scheduled destruction, erasure requests, admin
deletes) through `registry.destroyable(queryset)`; an app above adds a guard with
`registry.add_deletion_guard(guard)`, a function from a queryset to the part of it that may go,
applied inside the same query that deletes, and optionally its inverse question (`protects_any`:
is any row of this queryset kept?, answered without reading every row; the partition drop asks
it of whole months). Any number may be added; retention's legal holds are the one guard today
(`retention/apps.py`).

**Named hooks**, below, for one answer one lower app asks of one upper app. Every hook is declared
in this module with its default, so this file is the list of all of them; the upper app provides
the function in its `AppConfig.ready()` (`hook.provide(function)`), and the lower app calls the
hook like the function it stands for. A hook has one provider: providing again replaces it (a test
installs a stand-in and puts back `hook.provider` afterwards); `provide(None)` restores the default.

- `current_policy_version()`: the label of the privacy-policy version in force, recorded with
  every consent. Asked by consent, provided by policy; "" until provided.
- `processor_unstated(name=, data_categories=)`: what the privacy policy in force does not state
  about a processor: None when it names the processor and every category of data it receives,
  otherwise a dict ("missing_categories": the keys not stated, or None when the processor is not
  named; "version" and "effective_at" of an announced version that states it, if any). Asked by
  thirdparty's share gate before any data goes to a processor, provided by policy; None (nothing
  to check) until provided.
- `download_reason_names_a_request(reason)`: whether a download's reason in the access log names a
  real data-subject request. Asked by audit's monthly review, provided by dsar; by default a
  reason starting with "DSAR <reference>" counts.
- `external_destruction(rule=, cutoff=, dry_run=, batch_size=, trigger=, actor=, heartbeat=)`: the
  destruction runs of the company's other databases under a retention rule (the data map's
  declared tables), with the rule's frozen cutoff, inside the rule's lock; returns a list of
  retention's RunResult, one per table, each with its own DestructionRun. Asked by retention's
  destroy_expired, provided by datastores; none until provided.
- `external_rules()`: the keys of the retention rules under which the data map declares tables of
  the company's other databases. Asked by retention's destroy_expired, whose nothing-due shortcut
  leaves those rules to the full path (only the tables' own runs can tell what is due there);
  provided by datastores; none until provided.
- `live_incident_postings(language)`: the breach notices posted on the website right now (PIPA
  art. 34(3), Decree art. 39(3)), as a list of {"title", "url"} in that language, which the public
  policy page links to. Asked by policy, provided by incidents; none until provided.
- `marketing_consent_ended(subject_id=, purpose=, channel=, event_id=)`: a marketing consent was
  withdrawn or refused (any door), called inside the transaction that records it. Asked by consent,
  provided by thirdparty, which queues the suppression jobs at the processors that market to
  people (created in the same transaction, sent after commit); does nothing until provided.

- `connected_accounts(subject_id=)`: the person's accounts at outside services connected to us
  and still connected (today: YouTube grants), as a list of {"id", "service", "account",
  "connected_at"}, which the person's preference page lists with a "disconnect" button. Asked by
  consent, provided by thirdparty; none until provided.
- `disconnect_account(subject_id=, account_id=)`: the person disconnects one of those accounts
  from their own preference page; True when the account is that person's (disconnected now, or
  already), False for any other id (the page answers 404). Asked by consent, provided by
  thirdparty, which revokes the grant (statistics deleted at once, the revocation at Google made
  by the worker after commit); False until provided.

Django signals are not used between apps: a signal with no receiver is silent, where a hook has a
default and a name to grep for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


class Hook:
    """A named answer a lower app asks for and an upper app provides."""

    def __init__(self, name: str, default: Callable[..., Any]):
        self.name = name
        self.default = default
        self.provider: Callable[..., Any] | None = None

    def provide(self, provider: Callable[..., Any] | None) -> None:
        self.provider = provider

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return (self.provider or self.default)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Hook {self.name}>"


_DSAR_REASON = re.compile(r"^DSAR\s+\S+")

current_policy_version = Hook("current_policy_version", default=lambda: "")
processor_unstated = Hook("processor_unstated", default=lambda *, name, data_categories: None)
download_reason_names_a_request = Hook(
    "download_reason_names_a_request", default=lambda reason: bool(_DSAR_REASON.match(reason))
)
external_destruction = Hook(
    "external_destruction",
    default=lambda *, rule, cutoff, dry_run, batch_size, trigger, actor, heartbeat=None: [],
)
external_rules = Hook("external_rules", default=lambda: frozenset())
live_incident_postings = Hook("live_incident_postings", default=lambda language=None: [])
marketing_consent_ended = Hook(
    "marketing_consent_ended", default=lambda *, subject_id, purpose, channel, event_id: None
)
connected_accounts = Hook("connected_accounts", default=lambda *, subject_id: [])
disconnect_account = Hook("disconnect_account", default=lambda *, subject_id, account_id: False)
