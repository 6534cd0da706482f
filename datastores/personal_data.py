"""The personal data the datastores app holds itself, declared to the registry: a person's customer
keys in the company's other systems (the rows of those systems are declared in the data map)."""

from __future__ import annotations

from subjects.models import CollectionSource
from subjects.registry import DataCategory, Erase, Retention, registry

from .models import ExternalKey

registry.register(
    ExternalKey,
    subject_path="subject",
    category=DataCategory.IDENTITY_AND_CONTACT,
    sources=[CollectionSource.LINKED_SERVICE],
    export_fields=["system", "key", "created_at"],
    # Erased with the person; otherwise it goes with the profile it identifies.
    erase=Erase.delete(),
    retention=[Retention(rule="subject_profiles", runs_from="created_at")],
)
