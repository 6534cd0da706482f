"""A salted-hash suppression list survives erasure: the same address, imported again later, is
refused for marketing, and a sync to the mail and ad tools leaves it out."""

from __future__ import annotations

import pytest

from consent import services as consent_services
from consent.models import MarketingSuppression
from retention.services import erase_subject
from subjects.models import DataSubject
from thirdparty import services
from thirdparty.models import Connector, Processor

pytestmark = pytest.mark.django_db


def _withdrawn_and_erased(email="carol@example.com"):
    carol = DataSubject.objects.create(email=email, source="customer_service")
    consent_services.grant_consent(subject=carol, purpose="marketing", channel="web_form", notice_text="Ads v1")
    consent_services.withdraw_consent(subject=carol, purpose="marketing", channel="preference_page")
    erase_subject(subject_id=carol.pk, reference="E-9", triggered_by="dsar")
    assert not DataSubject.objects.filter(pk=carol.pk).exists()


def test_an_import_of_an_erased_address_that_had_opted_out_cannot_consent_to_marketing():
    _withdrawn_and_erased()
    again = DataSubject.objects.create(email="  Carol@Example.com ", source="affiliate")
    with pytest.raises(consent_services.ConsentError, match="an import cannot consent"):
        consent_services.grant_consent(subject=again, purpose="marketing", channel="import", notice_text="Ads")
    stibee = Processor.objects.get(connector=Connector.STIBEE)
    decision = services.may_share(subject=again, processor=stibee, purpose="marketing")
    assert not decision.allowed


def test_the_list_keeps_no_address_only_a_keyed_hash():
    _withdrawn_and_erased()
    [row] = MarketingSuppression.objects.all()
    assert "carol" not in row.address_hash and len(row.address_hash) == 64
    assert consent_services.is_suppressed("carol@example.com")
    assert not consent_services.is_suppressed("dave@example.com")


def test_the_persons_own_new_consent_lifts_the_suppression():
    _withdrawn_and_erased()
    again = DataSubject.objects.create(email="carol@example.com", source="customer_service")
    consent_services.grant_consent(subject=again, purpose="marketing", channel="web_form", notice_text="Ads v2")
    assert not consent_services.is_suppressed("carol@example.com")
    assert consent_services.may_process(subject=again, purpose="marketing")


def test_an_import_of_an_address_that_never_opted_out_may_consent():
    fresh = DataSubject.objects.create(email="erin@example.com", source="affiliate")
    consent_services.grant_consent(subject=fresh, purpose="marketing", channel="import", notice_text="Ads")
    assert consent_services.may_process(subject=fresh, purpose="marketing")
