"""Append-only ledgers: rows are written once and never changed.

Three ledgers use this base: the staff access log and the access-rights log (audit, policy
section 5), the consent ledger and the cookie consent records (consent, CM-12). Evidence that
can be edited proves nothing, so:

- `save()` of an existing row, `QuerySet.update()` and `bulk_update()` raise `AppendOnlyError`;
- `delete()`, on an instance or a queryset, asks the model's `refuse_delete(queryset)` first; by
  default it refuses every delete. A ledger whose rows may go after a legal period says so there
  (the audit logs: rows older than their period, oldest first);
- `_purge()` is the one named path that deletes past `refuse_delete`, for the service that owns
  the ledger's own retention (`purge_cookie_consent_records`, a person's erasure); it still runs
  the model's `before_purge(queryset)` (the access log's chain anchor);
- the base manager (`Model._base_manager`, which Django's related-object access, deletion
  collector and `refresh_from_db` use) is the guarded manager too, so those paths cannot update
  a ledger row either.

Not intercepted, on purpose: `QuerySet._raw_delete`, the single DELETE statement the retention
engine (`retention.graph.raw_delete`) and Django's cascade collector use to remove rows whose
period is over or whose parent row goes. A change made behind the ORM's back (raw SQL) is what
the access log's hash chain detects.
"""

from __future__ import annotations

from django.db import models, transaction


class AppendOnlyError(Exception):
    """A ledger row was about to be changed, or deleted outside the ledger's own deletion rule."""


def _changed(model) -> str:
    return f"{model._meta.label} is append-only: rows cannot be changed."


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses UPDATE; DELETE only as far as the model's `refuse_delete` allows."""

    def update(self, **kwargs):
        raise AppendOnlyError(_changed(self.model))

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError(_changed(self.model))

    bulk_update.alters_data = True

    def delete(self):
        self.model.refuse_delete(self)
        return self._purge()

    delete.alters_data = True
    delete.queryset_only = True

    def _purge(self) -> tuple[int, dict[str, int]]:
        """Delete these rows without asking `refuse_delete`: only for the service that owns the
        ledger's retention or a person's erasure. `before_purge` still runs (and may refuse)."""
        # One transaction: the access log's new chain anchor is kept only if the rows really go
        # (on PostgreSQL a trigger may still refuse them).
        with transaction.atomic(using=self.db):
            self.model.before_purge(self)
            return models.QuerySet.delete(self)

    _purge.alters_data = True
    _purge.queryset_only = True


class AppendOnlyModel(models.Model):
    """An abstract ledger row; subclasses keep `objects` an `AppendOnlyQuerySet` (or a subclass)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True
        # Inherited by every subclass that does not name its own base manager (Options looks the
        # name up on the first parent with a _meta): Django's internal paths get the guarded
        # queryset. Not in the subclasses' own Meta, so it adds nothing to their migrations.
        base_manager_name = "objects"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(_changed(self))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        return type(self)._default_manager.filter(pk=self.pk).delete()

    @classmethod
    def refuse_delete(cls, queryset: models.QuerySet) -> None:
        """Raise AppendOnlyError unless `queryset.delete()` may remove these rows. By default it never may."""
        raise AppendOnlyError(f"{cls._meta.label} is append-only: rows cannot be deleted. {cls.deletion_note}".strip())

    # Said when a delete is refused: which path removes this ledger's rows, if any.
    deletion_note = ""

    @classmethod
    def before_purge(cls, queryset: models.QuerySet) -> None:
        """Called before rows are deleted (the access log records a new chain anchor); may refuse."""
