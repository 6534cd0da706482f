"""Legal holds as SQL: the deletion guard the retention app plugs into the personal-data registry.

`exclude_held(queryset)` narrows a queryset of any model to the rows no active hold protects.
The narrowing is NOT EXISTS subqueries in the same statement that deletes or updates, so a hold
placed a millisecond before a batch is honoured by that batch, and no id is ever loaded into
Python. A hold protects:

- scope "record": that row, and the rows that go with it (CASCADE children, e.g. the ad
  performance records of a held SNS account);
- scope "subject": every row whose registry path leads to that subject, and the subject row;
- scope "rule": every row of the models the rule governs, within the rule's scope.
"""

from __future__ import annotations

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
    for column, holding in _hold_probes(model, now):
        held |= Q(Exists(holding.filter(**{_held_value(holding): OuterRef(column)})))
    for condition in _rule_conditions(model, now):
        held |= condition
    return held


def _held_value(holding: models.QuerySet) -> str:
    return holding.query.values_select[0]


def _hold_probes(model: type[models.Model], now: datetime | None = None) -> list[tuple[str, models.QuerySet]]:
    """The ways a row of `model` is held by one of its own values: (the column or lookup of
    `model`, the active holds' values that hold a row having it)."""
    holds = LegalHold.objects.active(now or timezone.now())
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    records = holds.filter(scope=HoldScope.RECORD).values("object_id")
    probes = [(model._meta.pk.attname, records.filter(content_type_id=content_type.pk))]
    for field in model._meta.concrete_fields:
        # A child that is deleted with its parent is held with it.
        if field.many_to_one and field.remote_field.on_delete is models.CASCADE and field.related_model is not model:
            parent_type = ContentType.objects.get_for_model(field.related_model, for_concrete_model=True)
            probes.append((field.attname, records.filter(content_type_id=parent_type.pk)))
    if registry.is_registered(model):
        entry = registry.entry(model)
        if entry.linked_to_subject:
            probes.append((entry.subject_field, holds.filter(scope=HoldScope.SUBJECT).values("subject_id")))
    return probes


def _rule_conditions(model: type[models.Model], now: datetime | None = None) -> list[Q]:
    """The holds of a whole rule: conditions on the holds table alone (plus the rule's scope)."""
    if not registry.is_registered(model):
        return []
    holds = LegalHold.objects.active(now or timezone.now())
    conditions = []
    for retention in registry.entry(model).retention:
        rule_held = Exists(holds.filter(scope=HoldScope.RULE, rule__key=retention.rule))
        conditions.append(Q(rule_held) & retention.scope if retention.scope is not None else Q(rule_held))
    return conditions


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
    hold does not depend on the row: it is one uncorrelated `NOT EXISTS`, evaluated once."""
    conditions = []
    for column, holding in _hold_probes(queryset.model):
        value = _held_value(holding)
        if "__" in column:
            conditions.append(~Q(Exists(holding.filter(**{value: OuterRef(column)}))))
        else:
            conditions.append(~Q(**{f"{column}__in": holding.filter(**{f"{value}__isnull": False})}))
    conditions += [~condition for condition in _rule_conditions(queryset.model)]
    return queryset.filter(*conditions)


def only_held(queryset: models.QuerySet) -> models.QuerySet:
    return queryset.filter(held_q(queryset.model))
