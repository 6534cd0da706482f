"""`any_held` asks from the holds' side what the guard answers row by row: is any of these rows
held? The partition drop trusts it with a whole month, so it must agree with the guard for every
kind of hold, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from retention.holds import any_held, only_held
from retention.models import LegalHold, RetentionRule
from retention.services import place_hold
from subjects.models import AdPerformanceRecord, CollectionSource, DataSubject, SocialAccount, VisitLog
from subjects.registry import registry


@pytest.fixture
def world(db):
    alice = DataSubject.objects.create(email="alice@example.com", source=CollectionSource.AUTOMATIC)
    bob = DataSubject.objects.create(email="bob@example.com", source=CollectionSource.AUTOMATIC)
    account = SocialAccount.objects.create(subject=alice, platform="instagram", handle="alice")
    other_account = SocialAccount.objects.create(subject=bob, platform="instagram", handle="bob")
    return {
        "alice": alice,
        "bob": bob,
        "account": account,
        "other_account": other_account,
        "alice_visit": VisitLog.objects.create(subject=alice),
        "anonymous_visit": VisitLog.objects.create(),
        "ad": AdPerformanceRecord.objects.create(account=account),
        "other_ad": AdPerformanceRecord.objects.create(account=other_account),
    }


def _hold(officer, world, kind):
    if kind == "subject":
        return place_hold(placed_by=officer, subject_id=world["alice"].pk, reason="Case")
    if kind == "record":
        return place_hold(placed_by=officer, record=world["alice_visit"], reason="Case")
    if kind == "parent record":  # the account held: its ad records go with it, so they are held
        return place_hold(placed_by=officer, record=world["account"], reason="Case")
    return place_hold(placed_by=officer, rule=RetentionRule.objects.get(key="visit_logs"), reason="Case")


@pytest.mark.parametrize("kind", ["subject", "record", "parent record", "rule"])
def test_it_agrees_with_the_guard_for_every_kind_of_hold_and_every_subset(world, officer, kind):
    hold = _hold(officer, world, kind)
    subsets = {
        "every visit": VisitLog.objects.all(),
        "the anonymous visit": VisitLog.objects.filter(pk=world["anonymous_visit"].pk),
        "no visit": VisitLog.objects.none(),
        "every ad record": AdPerformanceRecord.objects.all(),
        "bob's ad record": AdPerformanceRecord.objects.filter(pk=world["other_ad"].pk),
        "alice": DataSubject.objects.filter(pk=world["alice"].pk),
        "bob": DataSubject.objects.filter(pk=world["bob"].pk),
    }
    answers = {name: any_held(rows) for name, rows in subsets.items()}
    assert answers == {name: only_held(rows).exists() for name, rows in subsets.items()}
    assert any(answers.values())  # each kind of hold reaches something here
    assert answers["every visit"] == (kind != "parent record")
    assert not answers["bob's ad record"] and not answers["bob"]
    assert registry.protects_any(VisitLog.objects.all()) == answers["every visit"]

    # Released (the four-eyes release is tested elsewhere).
    LegalHold.objects.filter(pk=hold.pk).update(released_at=timezone.now(), released_by=officer)
    assert not any(any_held(rows) for rows in subsets.values())


def test_an_expired_hold_holds_nothing(world, officer):
    hold = place_hold(placed_by=officer, subject_id=world["alice"].pk, reason="Case")
    hold.expires_at = timezone.now() - timedelta(seconds=1)
    hold.save(update_fields=["expires_at"])
    assert not any_held(VisitLog.objects.all())


def test_a_guard_without_the_inverse_question_is_asked_by_counting(world):
    def keep_alice(queryset):
        return queryset.exclude(subject=world["alice"]) if queryset.model is VisitLog else queryset

    registry.add_deletion_guard(keep_alice)
    try:
        assert registry.protects_any(VisitLog.objects.all())
        assert not registry.protects_any(VisitLog.objects.filter(subject__isnull=True))
    finally:
        registry._guards.remove(keep_alice)
