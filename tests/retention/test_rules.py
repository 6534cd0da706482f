from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from retention.models import RetentionRule
from subjects.registry import registry


def test_every_rule_key_in_the_registry_has_an_active_rule_after_migrations(db):
    """A model registered under a key nobody seeded would never be destroyed: the system check
    `retention.E001` fails `manage.py check --database default` (and migrate) instead."""
    call_command("check", databases=["default"])  # the project as it is passes
    seeded = set(RetentionRule.objects.filter(active=True).values_list("key", flat=True))
    assert registry.rule_keys() - seeded == set()

    RetentionRule.objects.filter(key="visit_logs").update(active=False)
    with pytest.raises(SystemCheckError, match="'visit_logs' named by subjects.VisitLog has no active rule"):
        call_command("check", databases=["default"])
    call_command("check")  # without a database the check does not run


def test_the_policy_periods_are_the_statutory_ones(db):
    visits = RetentionRule.objects.get(key="visit_logs")
    complaints = RetentionRule.objects.get(key="complaint_records")
    assert (visits.period_value, visits.period_unit, visits.set_by_company) == (3, "months", False)
    assert "15-2" in visits.law_article and "41(2)2" in visits.law_article
    assert (complaints.period_value, complaints.period_unit, complaints.set_by_company) == (3, "years", False)
    assert "6(1)4" in complaints.law_article


def test_every_other_rule_says_the_company_set_it_and_why(db):
    for rule in RetentionRule.objects.exclude(key__in=["visit_logs", "complaint_records"]):
        assert rule.set_by_company, rule.key
        assert "Set by the company, not the policy" in rule.legal_basis, rule.key


def test_a_period_in_months_ends_on_the_same_day_of_the_month(db):
    visits = RetentionRule.objects.get(key="visit_logs")
    seoul = ZoneInfo("Asia/Seoul")
    assert visits.cutoff(datetime(2025, 5, 31, 12, tzinfo=seoul)) == datetime(2025, 2, 28, 12, tzinfo=seoul)
    assert visits.due_on(datetime(2025, 1, 15, 23, 30, tzinfo=seoul)) == date(2025, 4, 15)
    assert visits.due_on(None) is None
