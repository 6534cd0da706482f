"""The personal data the thirdparty app holds (policy 3), declared to the registry."""

from __future__ import annotations

from django.db.models import Q

from subjects.models import CollectionSource
from subjects.registry import ConsentBasis, DataCategory, Erase, Retention, registry

from .models import DisclosedSubject, DisclosureStatus, OAuthGrant, VendorIdentity, VendorName, YouTubeStatistics

registry.register(
    VendorIdentity,
    subject_path="subject",
    category=DataCategory.DEVICE_AND_USAGE,
    sources=[CollectionSource.AUTOMATIC, CollectionSource.LINKED_SERVICE],
    export_fields=["vendor", "kind", "value", "collected_at", "last_seen_at"],
    # Deleted only after create_erasure_jobs copied what the vendors need onto the jobs.
    erase=Erase.delete(),
    retention=[Retention(rule="vendor_identities", runs_from="last_seen_at")],
    # Meta's ids exist for the ad audiences of the marketing consent (policy 3.1.1); GA's come
    # with the statistics cookie, which is a cookie choice, not a purpose consent.
    collected_on_consent=[ConsentBasis("marketing", scope=Q(vendor=VendorName.META))],
)
registry.register(
    OAuthGrant,
    subject_path="subject",
    category=DataCategory.CONNECTED_ACCOUNT_DATA,
    sources=[CollectionSource.LINKED_SERVICE],
    # Tokens are never exported: they are credentials, not the person's data.
    export_fields=[
        "provider",
        "channel_id",
        "scopes",
        "granted_at",
        "last_refreshed_at",
        "revoked_at",
        "revoked_by",
    ],
    erase=Erase.delete(),
    retention=[Retention(rule="oauth_grants", runs_from="revoked_at")],
    # Policy 3.1.2: connecting YouTube is the consent to the affiliated-service integration.
    collected_on_consent=[ConsentBasis("third_party_integration")],
)
registry.register(
    YouTubeStatistics,
    subject_path="grant__subject",
    category=DataCategory.CONNECTED_ACCOUNT_DATA,
    sources=[CollectionSource.LINKED_SERVICE],
    export_fields=[
        "resource",
        "resource_id",
        "view_count",
        "like_count",
        "dislike_count",
        "comment_count",
        "subscriber_count",
        "fetched_at",
    ],
    erase=Erase.delete(),
    # YouTube API Services Developer Policies III.E.4: refreshed or deleted within 30 days.
    retention=[Retention(rule="youtube_data", runs_from="fetched_at")],
    collected_on_consent=[ConsentBasis("third_party_integration")],
)
registry.register(
    DisclosedSubject,
    subject_path="subject",
    category=DataCategory.REQUEST_RECORDS,
    sources=[CollectionSource.AUTOMATIC],
    export_fields=["disclosure", "notified_at", "notice_withheld_reason"],
    erase=Erase.delete(),
    # PIPA art. 18(4): disclosures beyond the original purpose are kept on record; erasure
    # requests restrict these rows instead of deleting the evidence.
    retention=[Retention(rule="disclosure_records", runs_from="created_at", kept_after_erasure=True)],
    # PIPA art. 35(4): a disclosure the person was deliberately not told of (an investigation), or
    # one not (yet) made, stays out of their own package unless the officer includes it.
    withheld_from_package=~Q(notice_withheld_reason="") | ~Q(disclosure__status=DisclosureStatus.DISCLOSED),
)
