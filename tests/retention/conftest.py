from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from retention.models import RetentionRule
from subjects.models import AdPerformanceRecord, CollectionSource, DataSubject, SocialAccount, VisitLog


@pytest.fixture
def rule():
    """The seeded rule with this key."""

    def get(key: str) -> RetentionRule:
        return RetentionRule.objects.get(key=key)

    return get


@pytest.fixture
def old_visits(db):
    """A subject-less visit log table: 5 visits a year old, 3 from yesterday."""
    now = timezone.now()
    old = [VisitLog.objects.create(visited_at=now - timedelta(days=365), path=f"/old/{i}") for i in range(5)]
    new = [VisitLog.objects.create(visited_at=now - timedelta(days=1), path=f"/new/{i}") for i in range(3)]
    return old, new


@pytest.fixture
def carol(db):
    """A subject with a linked-then-unlinked SNS account and its ad records."""
    subject = DataSubject.objects.create(
        name="Carol Park", email="carol@example.com", source=CollectionSource.LINKED_SERVICE
    )
    account = SocialAccount.objects.create(
        subject=subject, platform="youtube", handle="@carol", unlinked_at=timezone.now() - timedelta(days=90)
    )
    for i in range(3):
        AdPerformanceRecord.objects.create(account=account, campaign=f"c{i}", impressions=10)
    return subject


@pytest.fixture
def admin_en(admin_login):
    """admin_login, with the admin in English (Korean is the default) so messages can be read."""

    def login(user):
        client = admin_login(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return login
