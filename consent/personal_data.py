"""The personal data the consent app holds (policy 2), declared to the registry."""

from __future__ import annotations

from subjects.models import CollectionSource
from subjects.registry import DataCategory, Erase, Retention, registry

from .models import ConsentEvent, ConsentState, MarketingNotice, MarketingSuppression, PurposeSuspension

# Consent evidence is kept for the life of the consent plus a proof period (rule
# "consent_records", set by the company: 3 years after the answer stopped being current;
# a live grant has no end, so it is never due). A person's erasure deletes it outright:
# once the person is gone nothing is sent to them, so there is nothing left to prove, and
# a ledger row without its person proves nothing anyway. The retention engine deletes
# with QuerySet._raw_delete, which the ledger's refusing delete() does not intercept.
consent_sources = [
    CollectionSource.DATA_SUBJECT_REQUEST,
    CollectionSource.CUSTOMER_SERVICE,
    CollectionSource.AUTOMATIC,
]
registry.register(
    ConsentEvent,
    subject_path="subject",
    category=DataCategory.CONSENT_RECORDS,
    sources=consent_sources,
    export_fields=[
        "purpose",
        "action",
        "channel",
        "policy_version",
        "notice_sha256",
        "ip",
        "user_agent",
        "night_time",
        "gpc",
        "occurred_at",
        "ended_at",
    ],
    erase=Erase.delete(),
    retention=[Retention(rule="consent_records", runs_from="ended_at")],
)
registry.register(
    ConsentState,
    subject_path="subject",
    category=DataCategory.CONSENT_RECORDS,
    sources=consent_sources,
    export_fields=[
        "purpose",
        "granted",
        "action",
        "channel",
        "night_time",
        "changed_at",
        "confirmed_at",
        "reconfirm_due_at",
        "reconfirmation_sent_at",
        "ended_at",
    ],
    erase=Erase.delete(),
    retention=[Retention(rule="consent_records", runs_from="ended_at")],
)
registry.register(
    MarketingNotice,
    subject_path="subject",
    category=DataCategory.CONSENT_RECORDS,
    sources=[CollectionSource.DATA_SUBJECT_REQUEST],
    export_fields=["kind", "purpose", "anniversary_at", "sent_at"],
    erase=Erase.delete(),
    retention=[Retention(rule="consent_records", runs_from="sent_at")],
)
registry.register(
    PurposeSuspension,
    subject_path="subject",
    category=DataCategory.CONSENT_RECORDS,
    sources=[CollectionSource.DATA_SUBJECT_REQUEST],
    export_fields=["purpose", "suspended_at", "reference", "lifted_at"],
    erase=Erase.delete(),
    # Kept while it is in force (it is what stops the processing), then as consent evidence.
    retention=[Retention(rule="consent_records", runs_from="lifted_at")],
)
registry.register(
    MarketingSuppression,
    # Linked to no one: a keyed hash of an address that said no to marketing, kept after the person's
    # erasure so that a later import or sync cannot market to the address again. No person's package,
    # erasure or legal hold reaches it; its retention rule does (5 years from the last refusal).
    subject_path=None,
    category=DataCategory.CONSENT_RECORDS,
    sources=[CollectionSource.DATA_SUBJECT_REQUEST],
    export_fields=[],
    erase=Erase.delete(),
    retention=[Retention(rule="marketing_suppression", runs_from="last_refused_at")],
)
