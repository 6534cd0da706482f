"""How registered models point at each other, and set-based deletes that respect it.

Deletes here are single SQL statements (`QuerySet._raw_delete`): no rows are loaded into Python,
no signals fire (STYLE.md: signals switch off the fast delete and cost 30x), and the database's
foreign-key constraints stay the last line of defence. Because Django does not emit ON DELETE
CASCADE, children that go with their parent (CASCADE) are deleted first, by a subquery on the
parents; rows still referenced by anything else (PROTECT, or a held child) are left in place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import connections, models
from django.db.models import Exists, OuterRef, Q
from django.db.models.sql import DeleteQuery

from subjects.registry import Entry, registry


@dataclass(frozen=True)
class Reference:
    """A concrete foreign key of `model.field` pointing at another model."""

    model: type[models.Model]
    field: models.ForeignKey

    @property
    def cascades(self) -> bool:
        return self.field.remote_field.on_delete is models.CASCADE


@functools.cache
def references_to(target: type[models.Model]) -> tuple[Reference, ...]:
    """Every foreign key in the project that points at `target` (registered or not).
    Cached: the model graph is fixed once apps are loaded, and batches ask for it every time."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if field.many_to_one and field.related_model is target and model is not target:
                found.append(Reference(model, field))
    return tuple(found)


def unreferenced_q(target: type[models.Model], *, cascading: bool = True, protecting: bool = True) -> Q:
    """Rows of `target` no other row points at. `cascading`/`protecting` choose which kinds of
    reference count (children deleted with their parent, or everything else)."""
    q = Q()
    for ref in references_to(target):
        if (ref.cascades and cascading) or (not ref.cascades and protecting):
            q &= ~Exists(ref.model._default_manager.filter(**{ref.field.attname: OuterRef("pk")}))
    return q


def children_first(entries: list[Entry]) -> list[Entry]:
    """Registry entries ordered so a model comes before every model it points at."""
    by_model = {entry.model: entry for entry in entries}
    ordered: list[Entry] = []
    seen: set[type[models.Model]] = set()

    def visit(model: type[models.Model], path: tuple) -> None:
        if model in seen or model in path:
            return
        for ref in references_to(model):
            if ref.model in by_model:
                visit(ref.model, (*path, model))
        seen.add(model)
        ordered.append(by_model[model])

    for entry in entries:
        visit(entry.model, ())
    return ordered


def raw_delete(queryset: models.QuerySet) -> int:
    """DELETE ... WHERE <the queryset's conditions>, one statement; returns the row count."""
    return queryset._raw_delete(queryset.db) or 0


def delete_with_children(queryset: models.QuerySet, counts: dict[str, int] | None = None) -> int:
    """Delete `queryset`'s rows that nothing but their own CASCADE children refers to, deleting the
    destroyable children first. Rows whose children are held, or that something PROTECTs, stay.
    Child counts are added to `counts` by model label; returns the count of `queryset`'s model."""
    model = queryset.model
    candidates = queryset.filter(unreferenced_q(model, cascading=False))
    for ref in references_to(model):
        if ref.cascades:
            children = registry.destroyable(
                ref.model._default_manager.filter(**{f"{ref.field.attname}__in": candidates.values("pk")})
            )
            removed = delete_with_children(children, counts)
            if counts is not None and removed:
                counts[ref.model._meta.label] = counts.get(ref.model._meta.label, 0) + removed
    return raw_delete(candidates.filter(unreferenced_q(model, protecting=False)))


def count_with_children(queryset: models.QuerySet, counts: dict[str, int]) -> int:
    """What `delete_with_children` would delete now (children added to `counts`), without writing.
    Approximate in one way only: a parent whose children are all held counts as deletable."""
    model = queryset.model
    candidates = queryset.filter(unreferenced_q(model, cascading=False))
    for ref in references_to(model):
        if ref.cascades:
            children = registry.destroyable(
                ref.model._default_manager.filter(**{f"{ref.field.attname}__in": candidates.values("pk")})
            )
            n = count_with_children(children, counts)
            if n:
                counts[ref.model._meta.label] = counts.get(ref.model._meta.label, 0) + n
    return candidates.count()


# Ids no table holds, standing for a batch's bounds while its statement is built.
_FIRST, _AFTER_LAST = -(2**62) + 1, -(2**62) + 3


def batch_delete(queryset: models.QuerySet) -> Callable[[int, int], int] | None:
    """`delete_with_children(queryset.filter(pk__gte=a, pk__lt=b))` as a function of (a, b), for a
    model that no CASCADE child points at (so it is one DELETE). The statement is built once and
    run with each batch's bounds: building it through the ORM took about 4 ms of CPU per batch
    (the hold subqueries), a fifth of a 10,000-row batch (docs/BENCHMARKS.md). Everything else in
    it, the holds included, is read by the database at each run. None for a model with CASCADE
    children: those take `delete_with_children`, batch by batch."""
    model = queryset.model
    if any(ref.cascades for ref in references_to(model)):
        return None
    bounded = queryset.filter(pk__gte=_FIRST, pk__lt=_AFTER_LAST).filter(unreferenced_q(model))
    query = bounded.query.clone()
    query.__class__ = DeleteQuery
    sql, params = query.get_compiler(bounded.db).as_sql()
    bounds = stand_in_slots(params, (_FIRST, _AFTER_LAST))
    if sorted(bounds.values()) != [_FIRST, _AFTER_LAST]:
        return None  # a shape of statement this does not know: build each batch instead

    def delete(first: int, after_last: int) -> int:
        with connections[bounded.db].cursor() as cursor:
            cursor.execute(sql, filled(params, bounds, {_FIRST: first, _AFTER_LAST: after_last}))
            return cursor.rowcount

    return delete


def stand_in_slots(params, stand_ins) -> dict[int, object]:
    """Where a statement compiled with `stand_ins` (values no real statement carries, compared by
    type and value) holds them: position in `params` -> the stand-in there. Building a statement
    through the ORM costs milliseconds of CPU; one built once is run with real values put in
    those places (`filled`)."""
    return {i: value for i, value in enumerate(params) for s in stand_ins if type(value) is type(s) and value == s}


def filled(params, slots: dict[int, object], values: dict) -> list:
    """`params` with each stand-in slot replaced by `values[stand_in]`."""
    return [values[slots[i]] if i in slots else value for i, value in enumerate(params)]
