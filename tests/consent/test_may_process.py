from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from consent import services

pytestmark = pytest.mark.django_db
SEOUL = ZoneInfo("Asia/Seoul")


def test_withdrawal_stops_processing_at_once(alice):
    services.grant_consent(subject=alice, purpose="marketing", channel="web_form", notice_text="News?")
    assert services.may_process(subject=alice, purpose="marketing")
    services.withdraw_consent(subject=alice, purpose="marketing", channel="email_link")
    assert not services.may_process(subject=alice, purpose="marketing")


def test_purposes_needing_consent_are_off_until_granted(alice):
    assert not services.may_process(subject=alice, purpose="third_party_integration")
    assert not services.may_process(subject=alice, purpose="personalised_content")
    services.grant_consent(subject=alice, purpose="personalised_content", channel="web_form")
    assert services.may_process(subject=alice, purpose="personalised_content")


def test_purposes_without_consent_are_allowed(alice):
    assert services.may_process(subject=alice, purpose="security")
    assert services.may_process(subject=alice, purpose="service_improvement")


def test_a_restricted_subject_is_processed_only_for_security_whatever_they_consented_to(alice):
    services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    services.grant_consent(subject=alice, purpose="personalised_content", channel="web_form")
    alice.processing_restricted = True
    alice.save()
    assert services.may_process(subject=alice, purpose="security")
    for purpose in ("marketing", "personalised_content", "service_improvement", "third_party_integration"):
        assert not services.may_process(subject=alice, purpose=purpose), purpose


def test_a_marketing_consent_past_its_anniversary_without_reconfirmation_stops_counting(alice):
    granted_at = datetime(2024, 3, 1, 12, 0, tzinfo=SEOUL)
    services.grant_consent(subject=alice, purpose="marketing", channel="web_form", at=granted_at)
    assert services.may_process(subject=alice, purpose="marketing", at=granted_at + timedelta(days=700))
    assert not services.may_process(subject=alice, purpose="marketing", at=datetime(2026, 3, 1, 12, 1, tzinfo=SEOUL))
    # A non-marketing consent has no 2-year clock.
    services.grant_consent(subject=alice, purpose="third_party_integration", channel="web_form", at=granted_at)
    assert services.may_process(subject=alice, purpose="third_party_integration", at=granted_at + timedelta(days=900))


def test_an_unknown_purpose_is_an_error_not_a_silent_no(alice):
    with pytest.raises(services.UnknownPurpose):
        services.may_process(subject=alice, purpose="telepathy")


def test_gpc_from_an_identified_browser_withdraws_marketing_unless_granted_under_gpc(alice, bob):
    with time_machine.travel(datetime(2026, 5, 1, 10, 0, tzinfo=SEOUL), tick=False):
        services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
        services.grant_consent(subject=alice, purpose="personalised_content", channel="web_form")
        services.grant_consent(subject=bob, purpose="marketing", channel="preference_page", gpc=True)
    events = services.honour_gpc_signal(subject=alice, ip="203.0.113.1")
    assert [(e.purpose.key, e.channel, e.gpc) for e in events] == [("marketing", "gpc_signal", True)]
    assert not services.may_process(subject=alice, purpose="marketing")
    assert services.may_process(subject=alice, purpose="personalised_content")
    # Bob ticked marketing himself while his browser was sending GPC: his explicit choice wins.
    assert services.honour_gpc_signal(subject=bob) == []
    assert services.may_process(subject=bob, purpose="marketing")
