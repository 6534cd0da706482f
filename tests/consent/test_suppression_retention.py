"""The marketing suppression list has a retention rule: it is in the personal-data registry,
linked to no one (a person's package, erasure or hold never reaches it), and kept 5 years from
the last withdrawal or refusal of the address, then destroyed by the retention engine."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from consent import services as consent_services
from consent.models import MarketingSuppression
from dsar import package
from privacyops.lib.actors import SYSTEM
from retention.models import RetentionRule
from retention.services import destroy_expired, erase_subject
from subjects.models import DataSubject
from subjects.registry import registry

pytestmark = pytest.mark.django_db


def _refuse(email: str) -> DataSubject:
    person = DataSubject.objects.create(email=email, source="customer_service")
    consent_services.refuse_consent(subject=person, purpose="marketing", channel="customer_service")
    return person


def test_the_list_is_registered_with_a_seeded_rule_of_five_years_and_public_texts():
    entry = registry.entry(MarketingSuppression)
    assert not entry.linked_to_subject and entry.subject_field is None
    assert [(r.rule, r.runs_from) for r in entry.retention] == [("marketing_suppression", "last_refused_at")]
    rule = RetentionRule.objects.get(key="marketing_suppression")
    assert (rule.period_value, rule.period_unit, rule.action, rule.active) == (5, "years", "delete", True)
    assert rule.public_name_ko and rule.public_name_en and rule.public_runs_from_ko and rule.public_runs_from_en
    assert "Network Act art. 50" in rule.law_article


def test_an_entry_goes_five_years_after_the_last_refusal_and_a_later_refusal_restarts_the_period():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        old = _refuse("old@example.com")
        renewed = _refuse("renewed@example.com")
    with time_machine.travel(start + timedelta(days=4 * 365), tick=False):
        # The same address says no again four years later (a new withdrawal after a new consent).
        consent_services.grant_consent(subject=renewed, purpose="marketing", channel="web_form", notice_text="Ads")
        consent_services.withdraw_consent(subject=renewed, purpose="marketing", channel="preference_page")
    later = start + timedelta(days=5 * 365 + 2)
    [result] = destroy_expired(actor=SYSTEM, rule_key="marketing_suppression", now=later)
    assert result.counts["consent.MarketingSuppression"]["destroyed"] == 1
    assert not consent_services.is_suppressed(old.email)
    assert consent_services.is_suppressed(renewed.email)
    # And the renewed one goes five years after its own last refusal.
    [result] = destroy_expired(actor=SYSTEM, rule_key="marketing_suppression", now=later + timedelta(days=4 * 365))
    assert result.counts["consent.MarketingSuppression"]["destroyed"] == 1
    assert not MarketingSuppression.objects.exists()


def test_a_persons_erasure_and_access_package_never_reach_the_list():
    carol = _refuse("carol@example.com")
    _refuse("dave@example.com")
    built = package.collect(subject_id=carol.pk, reference="DSAR-1")
    assert "consent.MarketingSuppression" not in built.counts
    result = erase_subject(subject_id=carol.pk, reference="E-1", triggered_by="dsar")
    assert "consent.MarketingSuppression" not in [m.model for m in result.models]
    assert MarketingSuppression.objects.count() == 2
    assert consent_services.is_suppressed("carol@example.com")
