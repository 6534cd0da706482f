"""The personal data the dsar app holds (requests and their timelines), declared to the registry."""

from __future__ import annotations

from subjects.models import CollectionSource
from subjects.registry import DataCategory, Erase, Retention, registry

from .models import DataSubjectRequest, RequestEvent

# Rule "dsar_requests": a request (the requester's identity data) and its timeline are kept
# 3 years from closing, then deleted. They are the evidence PIPC or the Dispute Mediation
# Committee may ask for (PIPA art. 45); 3 years matches the limitation period of a damages
# claim (Civil Act art. 766(1)) and the policy's period for complaint records (4.1.1).
# For the same reason an erasure request keeps them (kept_after_erasure) and the person is
# told so. Open requests have no closed_at and are never due; unverified ones are destroyed
# after DSAR_UNVERIFIED_TTL_HOURS by dsar's own job (expire_dsar_requests).
#
# The timeline is registered first so that anything walking the registry in order removes
# the children before their request; every event precedes the closing, so under the same
# rule run from its own time it is due no later than its request.
registry.register(
    RequestEvent,
    subject_path="request__subject",
    category=DataCategory.REQUEST_RECORDS,
    sources=[CollectionSource.DATA_SUBJECT_REQUEST],
    export_fields=["kind", "at", "note"],
    erase=Erase.delete(),
    retention=[Retention(rule="dsar_requests", runs_from="at", kept_after_erasure=True)],
)
registry.register(
    DataSubjectRequest,
    subject_path="subject",
    category=DataCategory.REQUEST_RECORDS,
    sources=[CollectionSource.DATA_SUBJECT_REQUEST],
    export_fields=[
        "reference",
        "request_type",
        "status",
        "channel",
        "name",
        "email",
        "phone",
        "details",
        "requested_purposes",
        "is_agent",
        "agent_name",
        "received_at",
        "due_on",
        "verified_at",
        "closed_at",
    ],
    erase=Erase.delete(),
    retention=[Retention(rule="dsar_requests", runs_from="closed_at", kept_after_erasure=True)],
)
