"""The personal-data registry: to personal data what `admin.site` is to models.

Every model that holds personal data registers once, in its app's `personal_data.py` (loaded by
`SubjectsConfig.ready()` through `autodiscover_modules("personal_data")`, the way the admin loads
`admin.py`). The visit log's entry, as `subjects/personal_data.py` has it:

    registry.register(
        VisitLog,
        subject_path="subject",
        category=DataCategory.DEVICE_AND_USAGE,
        sources=[CollectionSource.AUTOMATIC],
        export_fields=[
            "visited_at", "ip", "user_agent", "os", "screen_size", "device_id", "phone_model",
            "cookie_id", "path", "abnormal", "abnormal_reason",
        ],
        erase=Erase.delete(),
        # Policy 4.1.2: kept 3 months under the Protection of Communications Secrets Act.
        retention=[Retention(rule="visit_logs", runs_from="visited_at", kept_after_erasure=True)],
    )

DSAR export and erasure, the retention engine and the public policy all iterate over the
registry; none of them lists models by hand. `manage.py check` fails when a model that points
at DataSubject (or at a registered model) is not registered (see checks.py), and
`manage.py check --database default` when a registered rule key has no active retention rule
(retention/checks.py).

Deletion guards (legal holds) are plugged in by the apps above this one through
`add_deletion_guard`, so this module needs no import of them: one of the two ways an app above
extends one below (privacyops/lib/hooks.py describes both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class DataCategory(models.TextChoices):
    """What kind of personal data a record holds (policy 1.1-1.3)."""

    IDENTITY_AND_CONTACT = "identity_contact", _("Name and contact details")
    CUSTOMER_SERVICE = "customer_service", _("Customer-service records, complaints and disputes")
    EVENTS = "events", _("Offline event and seminar attendance")
    SNS_ACCOUNTS = "sns_accounts", _("SNS accounts")
    AD_PERFORMANCE = "ad_performance", _("Post and advertisement performance, ad execution data")
    DEVICE_AND_USAGE = "device_usage", _("Device information, IP address, cookies, visit and usage logs")
    CONSENT_RECORDS = "consent_records", _("Consent records")
    REQUEST_RECORDS = "request_records", _("Records of requests made by the person")
    CONNECTED_ACCOUNT_DATA = "connected_account", _("Data from connected accounts (YouTube)")


class EraseMethod(models.TextChoices):
    DELETE = "delete", _("Secure deletion")
    ANONYMISE = "anonymise", _("Anonymisation")


@dataclass(frozen=True)
class Erase:
    """How a record is erased: deleted, or kept with the named fields overwritten."""

    method: str
    replacements: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def delete(cls) -> Erase:
        return cls(EraseMethod.DELETE)

    @classmethod
    def anonymise(cls, **replacements: Any) -> Erase:
        if not replacements:
            raise ValueError("Erase.anonymise needs at least one field to overwrite.")
        return cls(EraseMethod.ANONYMISE, dict(replacements))


@dataclass(frozen=True)
class Retention:
    """Which retention rule governs (part of) a model, and the timestamp its period runs from.

    `scope` narrows the rows the rule covers (e.g. complaints among inquiries); rows whose
    `runs_from` is NULL are never due (an open dispute has no closing date yet).
    `kept_after_erasure`: a statute requires keeping these rows for the rule's period even when
    the person asks for erasure; they are restricted instead of deleted.
    """

    rule: str
    runs_from: str
    scope: models.Q | None = None
    kept_after_erasure: bool = False


@dataclass(frozen=True)
class ConsentBasis:
    """These rows (all, or those in `scope`) are collected solely on the consent to `purpose`: when
    the person withdraws it they are destroyed without delay (PIPA art. 37(1), (4); DSAR-07),
    unless staff record another basis for keeping them (art. 37(2))."""

    purpose: str
    scope: models.Q | None = None


@dataclass(frozen=True)
class Entry:
    model: type[models.Model]
    # Path from the model to DataSubject ("subject", "account__subject"); "" for DataSubject itself;
    # None for rows held about no one we can name (a keyed hash of an address kept so that the
    # address is never marketed to again): no row belongs to a person, so a person's package,
    # erasure or legal hold never reaches them; only their retention rule does.
    subject_path: str | None
    category: str
    sources: tuple[str, ...]
    export_fields: tuple[str, ...]
    erase: Erase
    retention: tuple[Retention, ...]
    # PIPA art. 35(4): rows left out of the person's own access package unless the privacy officer
    # includes them (a disclosure whose notice is withheld, a draft nobody approved).
    withheld_from_package: models.Q | None = None
    collected_on_consent: tuple[ConsentBasis, ...] = ()

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def verbose_name(self) -> str:
        return str(self.model._meta.verbose_name_plural)

    @property
    def linked_to_subject(self) -> bool:
        return self.subject_path is not None

    @property
    def subject_field(self) -> str | None:
        """The lookup that yields the subject id ("pk" for DataSubject itself; None when unlinked)."""
        if self.subject_path is None:
            return None
        return f"{self.subject_path}_id" if self.subject_path else "pk"

    def rows_of(self, subject_ids: Iterable[int] | int) -> models.QuerySet:
        """This model's rows that belong to the given subject(s), through `subject_path`."""
        if self.subject_path is None:
            return self.model._default_manager.none()
        if isinstance(subject_ids, int):
            return self.model._default_manager.filter(**{self.subject_field: subject_ids})
        return self.model._default_manager.filter(**{f"{self.subject_field}__in": list(subject_ids)})

    def scoped(self, retention: Retention) -> models.QuerySet:
        queryset = self.model._default_manager.all()
        return queryset.filter(retention.scope) if retention.scope is not None else queryset

    def consent_only_q(self, purposes: Iterable[str]) -> models.Q | None:
        """The rows collected solely on one of these consents, or None when none of this model is."""
        purposes = set(purposes)
        found = None
        for basis in self.collected_on_consent:
            if basis.purpose in purposes:
                q = basis.scope if basis.scope is not None else models.Q()
                found = q if found is None else found | q
        return found

    def kept_after_erasure_q(self) -> models.Q | None:
        """Rows a statute requires keeping after an erasure request, or None when there are none."""
        kept = None
        for retention in self.retention:
            if retention.kept_after_erasure:
                q = retention.scope if retention.scope is not None else models.Q()
                kept = q if kept is None else kept | q
        return kept


# A guard takes a queryset of a registered model and returns the part that may be destroyed.
DeletionGuard = Callable[[models.QuerySet], models.QuerySet]
# A guard's inverse question, optional: does it keep any row of a queryset? Answered without
# reading every row (retention's holds answer it from the few holds' side).
ProtectsAny = Callable[[models.QuerySet], bool]


class AlreadyRegistered(Exception):
    pass


class NotRegistered(Exception):
    pass


class PersonalDataRegistry:
    def __init__(self) -> None:
        self._entries: dict[type[models.Model], Entry] = {}
        self._guards: list[DeletionGuard] = []
        self._protects_any: dict[DeletionGuard, ProtectsAny] = {}

    def register(
        self,
        model: type[models.Model],
        *,
        subject_path: str | None,
        category: str,
        sources: Iterable[str],
        export_fields: Iterable[str],
        erase: Erase,
        retention: Iterable[Retention],
        withheld_from_package: models.Q | None = None,
        collected_on_consent: Iterable[ConsentBasis] = (),
    ) -> Entry:
        if model in self._entries:
            raise AlreadyRegistered(f"{model._meta.label} is already in the personal-data registry.")
        retention = tuple(retention)
        if not retention:
            raise ValueError(f"{model._meta.label} needs at least one retention rule.")
        entry = Entry(
            model=model,
            subject_path=subject_path,
            category=str(category),
            sources=tuple(str(s) for s in sources),
            export_fields=tuple(export_fields),
            erase=erase,
            retention=retention,
            withheld_from_package=withheld_from_package,
            collected_on_consent=tuple(collected_on_consent),
        )
        self._validate(entry)
        self._entries[model] = entry
        return entry

    def unregister(self, model: type[models.Model]) -> Entry:
        try:
            return self._entries.pop(model)
        except KeyError:
            raise NotRegistered(model._meta.label) from None

    def _validate(self, entry: Entry) -> None:
        opts = entry.model._meta
        names = {f.name for f in opts.get_fields()}
        for name in [*entry.export_fields, *entry.erase.replacements]:
            if name not in names:
                raise ValueError(f"{opts.label} has no field {name!r} (named in its registry entry).")
        for retention in entry.retention:
            if retention.runs_from not in names:
                raise ValueError(f"{opts.label} has no field {retention.runs_from!r} to run retention from.")

    def is_registered(self, model: type[models.Model]) -> bool:
        return model in self._entries

    def entry(self, model: type[models.Model]) -> Entry:
        try:
            return self._entries[model]
        except KeyError:
            raise NotRegistered(model._meta.label) from None

    def entry_by_label(self, label: str) -> Entry | None:
        """The entry of the model labelled `label` ("subjects.VisitLog"), or None when no registered
        model has it: stored counts and policy facts name models by label, and may outlive a model."""
        return next((entry for entry in self._entries.values() if entry.label == label), None)

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def models(self) -> list[type[models.Model]]:
        return list(self._entries)

    def records_for(self, subject) -> dict[type[models.Model], models.QuerySet]:
        """Every registered model's rows that belong to `subject`, as lazy querysets."""
        subject_id = subject if isinstance(subject, int) else subject.pk
        return {entry.model: entry.rows_of(subject_id) for entry in self._entries.values()}

    def bindings_for_rule(self, rule_key: str) -> list[tuple[Entry, Retention]]:
        """The (model, retention) pairs a retention rule governs."""
        return [(e, r) for e in self._entries.values() for r in e.retention if r.rule == rule_key]

    def rule_keys(self) -> set[str]:
        return {r.rule for e in self._entries.values() for r in e.retention}

    # --- deletion guards --------------------------------------------------------------------
    def add_deletion_guard(self, guard: DeletionGuard, *, protects_any: ProtectsAny | None = None) -> None:
        if guard not in self._guards:
            self._guards.append(guard)
        if protects_any is not None:
            self._protects_any[guard] = protects_any

    def destroyable(self, queryset: models.QuerySet) -> models.QuerySet:
        """`queryset` narrowed to the rows no guard protects. Every deletion path goes through here,
        and the narrowing is part of the same query that deletes."""
        for guard in self._guards:
            queryset = guard(queryset)
        return queryset

    def protects_any(self, queryset: models.QuerySet) -> bool:
        """Whether some guard keeps at least one row of `queryset` (the partition drop asks it of a
        whole month). A guard that offers the inverse question answers it; for any other, the rows
        it lets go are counted against all of them."""
        total = None
        for guard in self._guards:
            ask = self._protects_any.get(guard)
            if ask is not None:
                if ask(queryset):
                    return True
                continue
            if total is None:
                total = queryset.count()
            if guard(queryset).count() != total:
                return True
        return False


registry = PersonalDataRegistry()
