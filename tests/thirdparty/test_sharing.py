from __future__ import annotations

import pytest

from consent import services as consent_services
from subjects.models import Affiliate, CollectionSource, DataSubject
from thirdparty import services
from thirdparty.models import DataTransfer


@pytest.fixture
def affiliate_subject(db):
    partner = Affiliate.objects.create(name="Partner Seminar Co.")
    subject = DataSubject.objects.create(
        email="dana@example.com", source=CollectionSource.OFFLINE_EVENT, source_affiliate=partner
    )
    consent_services.grant_consent(subject=subject, purpose="marketing", channel="web_form")
    return subject


def test_meta_targeting_is_refused_for_data_from_an_affiliate_and_says_why(affiliate_subject, meta_processor):
    decision = services.may_share(subject=affiliate_subject, processor=meta_processor, purpose="marketing")
    assert not decision.allowed
    assert "affiliated service" in decision.reason and "3.1.2.1.3" in decision.reason


def test_retargeting_and_resale_are_refused_for_affiliate_data_at_any_processor(affiliate_subject, stibee_processor):
    for purpose, article in (("retargeting", "3.1.2.1.4"), ("resale", "3.1.2.1.1"), ("credit", "3.1.2.1.2")):
        decision = services.may_share(subject=affiliate_subject, processor=stibee_processor, purpose=purpose)
        assert not decision.allowed and article in decision.reason


def test_affiliate_data_may_still_be_emailed_with_consent(affiliate_subject, stibee_processor):
    assert services.may_share(subject=affiliate_subject, processor=stibee_processor, purpose="marketing").allowed


def test_sharing_needs_the_purposes_consent(alice, meta_processor):
    decision = services.may_share(subject=alice, processor=meta_processor, purpose="marketing")
    assert not decision.allowed and "consented" in decision.reason
    consent_services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    assert services.may_share(subject=alice, processor=meta_processor, purpose="marketing").allowed


def test_a_restricted_subject_is_never_shared(alice, stibee_processor):
    consent_services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    alice.processing_restricted = True
    alice.save()
    decision = services.may_share(subject=alice, processor=stibee_processor, purpose="marketing")
    assert not decision.allowed and "suspended" in decision.reason


def test_every_sync_is_logged_with_counts_and_reasons(alice, bob, affiliate_subject, meta_processor):
    consent_services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    result = services.share_subjects(
        subjects=[alice, bob, affiliate_subject], processor=meta_processor, purpose="marketing", reference="sync-1"
    )
    assert [s.pk for s in result.allowed] == [alice.pk]
    transfer = DataTransfer.objects.get()
    assert (transfer.record_count, transfer.refused_count, transfer.consent_purpose) == (1, 2, "marketing")
    assert sum(transfer.refusal_reasons.values()) == 2
    # The ledger holds counts, never who.
    assert "bob" not in str(transfer.refusal_reasons)


def test_the_refusal_reason_reads_in_korean_for_korean_staff(affiliate_subject, meta_processor):
    from django.utils import translation

    with translation.override("ko"):
        decision = services.may_share(subject=affiliate_subject, processor=meta_processor, purpose="marketing")
    assert "제휴 서비스" in decision.reason and "맞춤형 광고" in decision.reason
