"""Legal holds as SQL: the deletion guard the retention app plugs into the personal-data registry.

`exclude_held(queryset)` narrows a queryset of any model to the rows no active hold protects.
The narrowing is NOT EXISTS subqueries in the same statement that deletes or updates, so a hold
placed a millisecond before a batch is honoured by that batch, and no id is ever loaded into
Python. A hold protects:

- scope "record": that row, and the rows that go with it (CASCADE children, e.g. the ad
  performance records of a held SNS account);
- scope "subject": every row whose registry path leads to that subject, and the subject row;
- scope "rule": every row of the models the rule governs, within the rule's scope.

`any_held(queryset)` asks the inverse, from the holds' side (is any row of these held?), for the
partition drop, which must know it of a whole month without reading the month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from subjects.registry import registry

from .models import HoldScope, LegalHold


def held_q(model: type[models.Model], now: datetime | None = None) -> Q:
    """A condition true for the rows of `model` that an active hold protects."""
    held = Q()
    for condition in _held_conditions(model, now):
        held |= condition
    return held


@dataclass(frozen=True)
class _Link:
    """One way a row of a model can be held: by the active holds of one kind (`holds`) whose
    `column` equals the row's `field` (both None: a hold of that kind covers every row), limited to
    the rows matching `scope` when it is set."""

    holds: models.QuerySet
    column: str | None = None
    field: str | None = None
    scope: Q | None = None


def _links(model: type[models.Model], now: datetime | None = None) -> list[_Link]:
    holds = LegalHold.objects.active(now or timezone.now())
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    links = [_Link(holds.filter(scope=HoldScope.RECORD, content_type_id=content_type.pk), "object_id", "pk")]
    for field in model._meta.concrete_fields:
        # A child that is deleted with its parent is held with it.
        if field.many_to_one and field.remote_field.on_delete is models.CASCADE and field.related_model is not model:
            parent_type = ContentType.objects.get_for_model(field.related_model, for_concrete_model=True)
            links.append(
                _Link(holds.filter(scope=HoldScope.RECORD, content_type_id=parent_type.pk), "object_id", field.attname)
            )
    if registry.is_registered(model):
        entry = registry.entry(model)
        if entry.linked_to_subject:
            links.append(_Link(holds.filter(scope=HoldScope.SUBJECT), "subject_id", entry.subject_field))
        for retention in entry.retention:
            links.append(_Link(holds.filter(scope=HoldScope.RULE, rule__key=retention.rule), scope=retention.scope))
    return links


def _held_conditions(model: type[models.Model], now: datetime | None = None) -> list[Q]:
    """The ways a row of `model` can be held, each a condition (their OR is held_q)."""
    conditions = []
    for link in _links(model, now):
        held = Q(Exists(link.holds.filter(**{link.column: OuterRef(link.field)}) if link.column else link.holds))
        conditions.append(held & link.scope if link.scope is not None else held)
    return conditions


def any_held(queryset: models.QuerySet) -> bool:
    """Whether an active hold protects at least one row of `queryset`, asked from the holds' side:
    each active hold that could reach the model is one index probe into the queryset's rows, so
    the answer costs the number of holds, not the number of rows (the partition drop asks it of a
    whole month of visit logs). The same ways of being held as the guard."""
    for link in _links(queryset.model):
        rows = queryset.filter(link.scope) if link.scope is not None else queryset
        if link.column is None:
            if link.holds.exists() and rows.exists():
                return True
        elif link.holds.filter(Exists(rows.filter(**{link.field: OuterRef(link.column)}))).exists():
            return True
    return False


def exclude_held(queryset: models.QuerySet) -> models.QuerySet:
    """The deletion guard: `queryset` minus the rows under an active legal hold.

    A row is held by one of its values (its id, a CASCADE parent's id, its subject's id) or by a
    hold on its whole rule. The first kind is written `NOT (col IN (SELECT <held values>))`, the
    held values taken IS NOT NULL (Django adds `col IS NOT NULL` for a nullable column, so a row
    with no subject is not held): PostgreSQL evaluates such a subquery once per statement into a
    hash table and probes it per row (a "hashed SubPlan"), which costs next to nothing while the
    holds are few (it must fit in work_mem: some hundred thousand active holds). As `NOT EXISTS`
    anti-joins the planner, seeing a nearly empty holds table, chose nested loops that rescanned
    it for every row: about 1 us a row, as much as the DELETE itself (docs/BENCHMARKS.md). A
    value reached through a join (`account__subject_id`) keeps the `NOT EXISTS` form. A rule's
    hold does not depend on the row: it is one uncorrelated `NOT EXISTS`, evaluated once.

    Each per-row condition comes after `NOT EXISTS (<active holds of that kind>)`, ORed: an
    uncorrelated subquery PostgreSQL evaluates once (an InitPlan), so while no hold of the kind is
    active the row's probe is never made. The same statement, the same snapshot: a hold committed
    before the statement starts is seen either way. The probes were a fifth of a 50,000-row
    batch's time (docs/BENCHMARKS.md)."""
    conditions = []
    for link in _links(queryset.model):
        if link.column is None:
            held = Q(Exists(link.holds))
            conditions.append(~(held & link.scope) if link.scope is not None else ~held)
            continue
        if "__" in link.field:
            kept = ~Q(Exists(link.holds.filter(**{link.column: OuterRef(link.field)})))
        else:
            values = link.holds.filter(**{f"{link.column}__isnull": False}).values(link.column)
            kept = ~Q(**{f"{link.field}__in": values})
        conditions.append(~Q(Exists(link.holds)) | kept)
    return queryset.filter(*conditions)


def only_held(queryset: models.QuerySet) -> models.QuerySet:
    return queryset.filter(held_q(queryset.model))
