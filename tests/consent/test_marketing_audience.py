from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from consent import services
from subjects.models import CollectionSource, DataSubject

pytestmark = pytest.mark.django_db
SEOUL = ZoneInfo("Asia/Seoul")
GRANTED_AT = datetime(2026, 1, 5, 10, 0, tzinfo=SEOUL)
NOON = datetime(2026, 6, 1, 12, 0, tzinfo=SEOUL)


def person(name, *, email=True, phone="010-0000-0000", restricted=False):
    return DataSubject.objects.create(
        name=name,
        email=f"{name}@example.com" if email else None,
        phone=phone,
        source=CollectionSource.CUSTOMER_SERVICE,
        processing_restricted=restricted,
    )


def grant(subject, *, night=False, at=GRANTED_AT):
    services.grant_consent(subject=subject, purpose="marketing", channel="web_form", night_time=night, at=at)


def names(queryset):
    return sorted(queryset.values_list("name", flat=True))


@pytest.fixture
def crowd(db):
    day = person("day")
    grant(day)
    night = person("night")
    grant(night, night=True)
    withdrawn = person("withdrawn")
    grant(withdrawn)
    services.withdraw_consent(
        subject=withdrawn, purpose="marketing", channel="email_link", at=GRANTED_AT.replace(day=6)
    )
    restricted = person("restricted", restricted=True)
    grant(restricted)
    overdue = person("overdue")
    grant(overdue, at=datetime(2024, 5, 1, 10, 0, tzinfo=SEOUL))
    person("never")
    other_purpose = person("other")
    services.grant_consent(subject=other_purpose, purpose="third_party_integration", channel="web_form", at=GRANTED_AT)
    no_phone = person("nophone", phone="")
    grant(no_phone, night=True)
    no_email = person("noemail", email=False)
    grant(no_email)


def test_by_day_the_audience_is_who_consented_and_did_not_withdraw(crowd):
    assert names(services.marketing_audience(channel="email", at=NOON)) == ["day", "night", "nophone"]
    assert names(services.marketing_audience(channel="sms", at=NOON)) == ["day", "night", "noemail"]
    assert names(services.marketing_audience(channel="push", at=NOON)) == ["day", "night", "noemail", "nophone"]


@pytest.mark.parametrize("hour", [21, 23, 0, 7])
def test_at_night_sms_push_and_messenger_need_the_night_time_consent(crowd, hour):
    at = NOON.replace(hour=hour)
    assert names(services.marketing_audience(channel="sms", at=at)) == ["night"]
    assert names(services.marketing_audience(channel="messenger", at=at)) == ["night", "nophone"]


def test_at_night_email_is_exempt(crowd):
    assert names(services.marketing_audience(channel="email", at=NOON.replace(hour=23))) == ["day", "night", "nophone"]


def test_at_eight_in_the_morning_the_night_rule_no_longer_applies(crowd):
    assert "day" in names(services.marketing_audience(channel="sms", at=NOON.replace(hour=8)))
    assert "day" not in names(services.marketing_audience(channel="sms", at=NOON.replace(hour=7, minute=59)))


def test_the_audience_is_one_query(crowd, django_assert_num_queries):
    audience = services.marketing_audience(channel="sms", at=NOON)
    with django_assert_num_queries(1):
        assert len(list(audience.order_by("pk")[:50])) == 3


def test_an_unknown_channel_is_refused():
    with pytest.raises(services.ConsentError, match="email, sms, push, messenger"):
        services.marketing_audience(channel="fax")
