"""The personal data the subjects app holds (policy 1), declared to the registry.

Loaded with every app's `personal_data` module by `SubjectsConfig.ready()`.
"""

from __future__ import annotations

from django.db.models import Q

from .models import (
    AdPerformanceRecord,
    CollectionSource,
    DataSubject,
    EventAttendance,
    Inquiry,
    InquiryKind,
    SocialAccount,
    VisitLog,
)
from .registry import DataCategory, Erase, Retention, registry

registry.register(
    DataSubject,
    subject_path="",
    category=DataCategory.IDENTITY_AND_CONTACT,
    sources=CollectionSource.values,
    export_fields=["name", "email", "phone", "source", "created_at", "processing_restricted"],
    erase=Erase.delete(),
    # A person's contact details go once no record of theirs is left.
    retention=[Retention(rule="subject_profiles", runs_from="updated_at")],
)
registry.register(
    VisitLog,
    subject_path="subject",
    category=DataCategory.DEVICE_AND_USAGE,
    sources=[CollectionSource.AUTOMATIC],
    export_fields=[
        "visited_at",
        "ip",
        "user_agent",
        "os",
        "screen_size",
        "device_id",
        "phone_model",
        "cookie_id",
        "path",
        "abnormal",
        "abnormal_reason",
    ],
    erase=Erase.delete(),
    # Policy 4.1.2: kept 3 months under the Protection of Communications Secrets Act.
    retention=[Retention(rule="visit_logs", runs_from="visited_at", kept_after_erasure=True)],
)
registry.register(
    Inquiry,
    subject_path="subject",
    category=DataCategory.CUSTOMER_SERVICE,
    sources=[CollectionSource.CUSTOMER_SERVICE],
    export_fields=["channel", "kind", "body", "opened_at", "closed_at"],
    erase=Erase.delete(),
    retention=[
        # Policy 4.1.1: complaints and disputes, 3 years from closing (E-Commerce Act art. 6).
        Retention(
            rule="complaint_records",
            runs_from="closed_at",
            scope=Q(kind__in=[InquiryKind.COMPLAINT, InquiryKind.DISPUTE]),
            kept_after_erasure=True,
        ),
        Retention(rule="inquiries", runs_from="closed_at", scope=Q(kind=InquiryKind.QUESTION)),
    ],
)
registry.register(
    EventAttendance,
    subject_path="subject",
    category=DataCategory.EVENTS,
    sources=[CollectionSource.OFFLINE_EVENT],
    export_fields=["kind", "event_name", "event_date", "registered_at", "attended", "organisation"],
    erase=Erase.delete(),
    retention=[Retention(rule="event_attendance", runs_from="event_date")],
)
registry.register(
    SocialAccount,
    subject_path="subject",
    category=DataCategory.SNS_ACCOUNTS,
    sources=[CollectionSource.LINKED_SERVICE, CollectionSource.AFFILIATE],
    export_fields=["platform", "handle", "external_id", "linked_at", "unlinked_at"],
    erase=Erase.delete(),
    retention=[Retention(rule="sns_accounts", runs_from="unlinked_at")],
)
registry.register(
    AdPerformanceRecord,
    subject_path="account__subject",
    category=DataCategory.AD_PERFORMANCE,
    sources=[CollectionSource.LINKED_SERVICE, CollectionSource.AFFILIATE],
    export_fields=["post_id", "campaign", "impressions", "clicks", "spend", "executed_at", "recorded_at"],
    erase=Erase.delete(),
    retention=[Retention(rule="ad_performance", runs_from="recorded_at")],
)
