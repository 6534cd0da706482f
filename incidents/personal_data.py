"""The personal data the incidents app holds (the people affected by a breach), declared to the registry."""

from __future__ import annotations

from subjects.registry import DataCategory, Erase, Retention, registry

from .models import AffectedPerson, IncidentNotice

# Rule "incident_records": who was affected is the evidence that every person was notified
# (PIPA art. 34(1)) and what a regulator or a court asks for; kept after an erasure request.
registry.register(
    AffectedPerson,
    subject_path="subject",
    category=DataCategory.IDENTITY_AND_CONTACT,
    # Nothing new is collected: the row points at data held already, or at an address handed over
    # with the incident (a processor's or a system's list of the people whose data leaked).
    sources=[],
    export_fields=["incident", "email", "phone", "source", "added_at"],
    erase=Erase.delete(),
    retention=[Retention(rule="incident_records", runs_from="added_at", kept_after_erasure=True)],
)

# The delivery record of each breach notice: the evidence the person was told, kept as the list is.
registry.register(
    IncidentNotice,
    subject_path="person__subject",
    category=DataCategory.IDENTITY_AND_CONTACT,
    sources=[],
    export_fields=["incident", "channel", "language", "status", "sent_at"],
    erase=Erase.delete(),
    retention=[Retention(rule="incident_records", runs_from="queued_at", kept_after_erasure=True)],
)
