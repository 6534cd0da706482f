"""The personal data the policy app holds (policy 7: change notices), declared to the registry."""

from __future__ import annotations

from subjects.registry import DataCategory, Erase, Retention, registry

from .models import PolicyNoticeDelivery

registry.register(
    PolicyNoticeDelivery,
    subject_path="subject",
    category=DataCategory.IDENTITY_AND_CONTACT,
    # Nothing is collected: the record only says which notice went to the address held.
    sources=[],
    export_fields=["status", "sent_at"],
    erase=Erase.delete(),
    retention=[Retention(rule="policy_notices", runs_from="queued_at")],
)
