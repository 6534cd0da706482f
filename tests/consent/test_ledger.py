from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from consent import services
from consent.models import (
    ConsentAction,
    ConsentChannel,
    ConsentEvent,
    ConsentState,
    CookieCategory,
    MarketingNotice,
    Purpose,
)
from privacyops.lib.ledger import AppendOnlyError
from subjects.registry import EraseMethod, registry

pytestmark = pytest.mark.django_db


def grant(subject, purpose="marketing", **kwargs):
    return services.grant_consent(subject=subject, purpose=purpose, channel=ConsentChannel.WEB_FORM, **kwargs)


def test_the_five_purposes_of_policy_2_1_and_four_cookie_categories_are_seeded():
    purposes = {p.key: p for p in Purpose.objects.all()}
    assert [purposes[k].policy_clause for k in sorted(purposes)] == ["2.1.2", "2.1.1", "2.1.3", "2.1.4", "2.1.5"]
    assert purposes["marketing"].is_marketing and purposes["marketing"].legal_basis == "consent"
    assert purposes["security"].legal_basis == "legal_obligation" and not purposes["security"].consent_required
    assert purposes["service_improvement"].legal_basis == "legitimate_interest"
    assert set(CookieCategory.objects.values_list("key", flat=True)) == {
        "necessary",
        "preferences",
        "statistics",
        "marketing",
    }
    assert CookieCategory.objects.get(key="necessary").always_on


def test_an_event_cannot_be_changed_once_recorded(alice):
    event = grant(alice, notice_text="Receive news by email?")
    event.channel = ConsentChannel.IMPORT
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.filter(pk=event.pk).update(channel=ConsentChannel.IMPORT)
    with pytest.raises(AppendOnlyError), transaction.atomic():
        ConsentEvent.objects.bulk_update([event], ["channel"])
    assert ConsentEvent.objects.get(pk=event.pk).channel == ConsentChannel.WEB_FORM


def test_an_event_cannot_be_deleted_except_by_erasure(alice):
    event = grant(alice)
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.filter(subject=alice).delete()
    assert ConsentEvent.objects.filter(subject=alice).count() == 1
    ConsentEvent.objects.filter(subject=alice)._purge()
    assert not ConsentEvent.objects.filter(subject=alice).exists()


def test_an_event_keeps_the_evidence_of_cm_12(alice):
    from privacyops.lib import hooks

    previous = hooks.current_policy_version.provider
    hooks.current_policy_version.provide(lambda: "2025-01-02")
    try:
        event = grant(alice, notice_text="Receive news?", ip="203.0.113.9", user_agent="UA/1", night_time=True)
    finally:
        # Put back whatever the policy app installed: other tests rely on it.
        hooks.current_policy_version.provide(previous)
    event.refresh_from_db()
    assert event.policy_version == "2025-01-02"
    import hashlib

    assert event.notice_sha256 == hashlib.sha256(b"Receive news?").hexdigest()
    assert (event.ip, event.user_agent, event.night_time, event.action) == ("203.0.113.9", "UA/1", True, "granted")


def test_the_state_follows_the_latest_event(alice):
    start = timezone.now() - timedelta(days=3)
    grant(alice, at=start)
    assert ConsentState.objects.get(subject=alice, purpose__key="marketing").granted
    services.withdraw_consent(
        subject=alice, purpose="marketing", channel=ConsentChannel.EMAIL_LINK, at=start + timedelta(days=1)
    )
    state = ConsentState.objects.get(subject=alice, purpose__key="marketing")
    assert (state.granted, state.action, state.channel) == (False, ConsentAction.WITHDRAWN, ConsentChannel.EMAIL_LINK)
    grant(alice, at=start + timedelta(days=2), night_time=True)
    state.refresh_from_db()
    assert state.granted and state.night_time and state.changed_at == start + timedelta(days=2)
    assert ConsentEvent.objects.filter(subject=alice).count() == 3
    assert ConsentState.objects.filter(subject=alice).count() == 1


def test_the_proof_period_of_an_answer_starts_when_it_stops_being_current(alice):
    start = timezone.now() - timedelta(days=10)
    first = grant(alice, at=start)
    assert ConsentEvent.objects.get(pk=first.pk).ended_at is None
    withdrawal = services.withdraw_consent(
        subject=alice, purpose="marketing", channel="preference_page", at=start + timedelta(days=1)
    )
    assert ConsentEvent.objects.get(pk=first.pk).ended_at == start + timedelta(days=1)
    # A "no" keeps nothing alive: its own period starts at once.
    assert withdrawal.ended_at == start + timedelta(days=1)
    assert ConsentState.objects.get(subject=alice).ended_at == start + timedelta(days=1)


def test_only_a_standing_yes_leaves_an_event_open_and_each_answer_ends_the_one_before(alice):
    """Every answer ends the one before it at its own time, and a "no" ends itself; so the only
    open event of a person's purpose is a current grant (the write skips ending earlier events
    when the state is not a grant)."""
    t0 = timezone.now() - timedelta(days=800)
    steps = [
        lambda at: grant(alice, at=at),
        lambda at: grant(alice, at=at),  # within 30 days of the 2-year anniversary: re-confirmed
        lambda at: services.withdraw_consent(subject=alice, purpose="marketing", channel="preference_page", at=at),
        lambda at: grant(alice, at=at, night_time=True),
        lambda at: grant(alice, at=at),  # a different consent (no longer at night): a new grant
        lambda at: services.withdraw_consent(subject=alice, purpose="marketing", channel="email_link", at=at),
    ]
    times = [t0, t0 + timedelta(days=720)] + [t0 + timedelta(days=721 + i) for i in range(4)]
    events = []
    for step, at in zip(steps, times, strict=True):
        events.append(step(at))
        state = ConsentState.objects.get(subject=alice, purpose__key="marketing")
        open_events = list(ConsentEvent.objects.filter(subject=alice, ended_at__isnull=True))
        assert open_events == ([events[-1]] if state.granted else [])
    assert [e.action for e in events] == ["granted", "reconfirmed", "withdrawn", "granted", "granted", "withdrawn"]
    ended = [ConsentEvent.objects.get(pk=e.pk).ended_at for e in events]
    assert ended == [times[1], times[2], times[2], times[4], times[5], times[5]]


def test_withdrawing_twice_records_nothing_the_second_time(alice):
    grant(alice)
    assert services.withdraw_consent(subject=alice, purpose="marketing", channel="web_form") is not None
    assert services.withdraw_consent(subject=alice, purpose="marketing", channel="web_form") is None
    assert services.withdraw_consent(subject=alice, purpose="third_party_integration", channel="web_form") is None
    assert ConsentEvent.objects.filter(subject=alice).count() == 2


def test_an_event_dated_before_the_current_answer_is_refused(alice):
    grant(alice)
    with pytest.raises(services.ConsentError):
        services.withdraw_consent(
            subject=alice, purpose="marketing", channel="import", at=timezone.now() - timedelta(days=1)
        )


def test_consent_to_a_purpose_that_does_not_rely_on_it_or_does_not_exist_is_refused(alice):
    with pytest.raises(services.ConsentError, match="does not rely on consent"):
        grant(alice, purpose="security")
    with pytest.raises(services.UnknownPurpose):
        grant(alice, purpose="telepathy")
    with pytest.raises(services.ConsentError, match="channel"):
        services.grant_consent(subject=alice, purpose="marketing", channel="carrier_pigeon")


def test_night_time_consent_is_only_recorded_for_marketing(alice):
    event = grant(alice, purpose="personalised_content", night_time=True)
    assert not event.night_time


def test_a_refusal_is_recorded_once_and_a_refusal_of_held_consent_is_a_withdrawal(alice, bob):
    refusal = services.refuse_consent(subject=bob, purpose="marketing", channel="web_form", notice_text="News?")
    assert refusal.action == ConsentAction.REFUSED
    assert services.refuse_consent(subject=bob, purpose="marketing", channel="web_form") is None
    grant(alice)
    assert services.refuse_consent(subject=alice, purpose="marketing", channel="web_form").action == "withdrawn"


def test_withdraw_all_withdraws_every_consent_held(alice):
    grant(alice)
    grant(alice, purpose="third_party_integration")
    events = services.withdraw_all_consents(subject=alice, channel=ConsentChannel.CUSTOMER_SERVICE)
    assert sorted(e.purpose.key for e in events) == ["marketing", "third_party_integration"]
    assert not ConsentState.objects.filter(subject=alice, granted=True).exists()
    assert services.withdraw_all_consents(subject=alice, channel="customer_service") == []


def test_ledger_state_and_notices_are_in_the_personal_data_registry(alice):
    for model in (ConsentEvent, ConsentState, MarketingNotice):
        entry = registry.entry(model)
        assert entry.category == "consent_records"
        assert entry.erase.method == EraseMethod.DELETE
        assert [r.rule for r in entry.retention] == ["consent_records"]
    grant(alice)
    rows = registry.records_for(alice)
    assert rows[ConsentEvent].count() == 1 and rows[ConsentState].count() == 1
