"""Issue 17 point 4: a policy a person can read. Items collected by purpose, required or optional,
in words written for the public (PC-02 "items processed"); the protection measures generated from
what the product runs (PC-02 "security measures"); the rights section complete (PC-02 "subject and
legal-representative rights", DSAR-02, DSAR-04, DSAR-08); Meta's classification a setting the page
follows and the desk flags (PV-04, CM-13); a processor held out of the published text until the
version stating it takes effect (PC-04)."""

from __future__ import annotations

import html as html_module
import re

import pytest

from policy import services
from policy.content import collect_policy_facts, fingerprint, unexplained_safety_facts

from .conftest import seoul

pytestmark = pytest.mark.django_db


def draft(language: str = "en") -> str:
    document = services.render_policy_document(facts=collect_policy_facts(), version=None, language=language)
    return html_module.unescape(document)


def section(document: str, number: int) -> str:
    match = re.search(rf'<section aria-labelledby="s{number}">(.*?)</section>', document, re.S)
    assert match, f"section {number} missing"
    return match.group(1)


def purpose_row(document: str, name: str) -> str:
    match = re.search(rf'<tr><th scope="row">{re.escape(name)}</th>(.*?)</tr>', section(document, 1), re.S)
    assert match, f"no row for {name}"
    return match.group(1)


def test_items_collected_are_grouped_by_purpose_and_marked_required_or_optional():
    """PC-02 (items processed): consent purposes' items are optional, the others required."""
    document = draft()
    assert "Items collected by purpose" in section(document, 1)
    marketing = purpose_row(document, "Marketing and promotions")
    assert "email address and phone number" in marketing and "Optional (with your consent)" in marketing
    service = purpose_row(document, "Service improvement and new services")
    assert "Name, email address, phone number" in service and ">Required<" in service
    kept = purpose_row(document, "Records the law requires the Company to keep")
    assert "fingerprint of the notice you were shown" in kept and ">Required<" in kept


def test_required_or_optional_follows_the_purpose_and_changes_the_draft_only():
    """The mark is not stored twice: a purpose that comes to need consent makes its items optional
    in the draft; the published page is unchanged until a version states it (PC-04)."""
    from consent.models import Purpose

    published = services.current_version().frozen_html_en
    Purpose.objects.filter(key="service_improvement").update(consent_required=True)
    assert "Optional (with your consent)" in purpose_row(draft(), "Service improvement and new services")
    assert services.current_version().frozen_html_en == published
    assert services.policy_is_out_of_date()


def test_a_change_to_the_items_collected_is_a_significant_change(english):
    """PC-04: a change to the items collected needs 30 days' notice ("types of data")."""
    from policy.models import CollectedItem

    old = collect_policy_facts()
    CollectedItem.objects.filter(category="events").update(items_en="Event name only")
    assert "types of data" in services.significant_changes(old, collect_policy_facts())


def test_lockout_read_as_a_timedelta_too(settings):
    from datetime import timedelta

    settings.AXES_COOLOFF_TIME = timedelta(minutes=45)
    assert "locked for 45 minutes" in section(draft(), 5)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_no_staff_label_of_the_registry_reaches_the_page(language):
    """The items used to be the registry's export labels ("Notice SHA-256", "Processing
    restricted"): written for staff, not for the person."""
    document = draft(language)
    for label in (
        "Notice SHA-256",
        "SHA-256",
        "Processing restricted",
        "Policy notice status",
        "Incident",
        "Claim",
        "Ended at",
        "처리 정지,",
        "방침 변경 안내 상태",
    ):
        assert label not in document


def test_the_gate_wants_public_words_for_every_registry_category_it_collects(english):
    """PC-02: a category the registry holds but the page does not describe blocks announcing."""
    from policy.models import CollectedItem

    assert services.missing_policy_items() == []
    CollectedItem.objects.filter(category="events").update(active=False)
    missing = services.missing_policy_items()
    assert "the items collected in the category Offline event and seminar attendance, in words for the public" in (
        missing
    )


def test_section_5_describes_the_measures_the_product_runs_from_its_settings(settings):
    """PC-02 (security measures): encryption at rest, the chained access log and its check, TOTP,
    lockout, roles and four eyes, read from the settings and code; changing one changes the draft."""
    before = fingerprint(collect_policy_facts())
    measures = section(draft(), 5)
    assert "the access keys of a connected YouTube account" in measures and "stored encrypted" in measures
    assert "linked to the one before it by a keyed hash" in measures and "at least 2 years" in measures
    assert "one-time code from an authenticator app" in measures
    assert "After 5 failed sign-in attempts, the account is locked for 30 minutes." in measures
    assert "the privacy officer, customer support, marketing, the internal auditor" in measures
    assert "sending a copy of your personal information" in measures and "carrying out an erasure" in measures
    settings.AXES_FAILURE_LIMIT = 7
    settings.AXES_COOLOFF_TIME = 1  # hours
    assert "After 7 failed sign-in attempts, the account is locked for 60 minutes." in section(draft(), 5)
    assert fingerprint(collect_policy_facts()) != before


def test_an_encrypted_field_or_role_without_public_words_blocks_announcing():
    """A new encrypted column or role cannot reach the page as an internal label: the gate lists it."""
    facts = collect_policy_facts()
    assert unexplained_safety_facts(facts["safety"]) == []
    facts["safety"]["encrypted_fields"].append("subjects.DataSubject.phone")
    facts["safety"]["roles"].append("night shift")
    missing = services.missing_policy_items(facts)
    assert any("subjects.DataSubject.phone" in item and "night shift" in item for item in missing)


def test_the_rights_section_states_the_rights_their_limits_agents_children_and_objections(settings):
    """PC-02 (rights of subjects and legal representatives), DSAR-02 (children under 14), DSAR-04
    (limits: art. 35(4), 36(1) proviso, 37(2)), DSAR-08 (how to object, to whom)."""
    rights = section(draft(), 6)
    for fact in (
        "articles 35 to 37",
        "receive a copy of it (article 35)",
        "corrected or deleted (article 36)",
        "for the purposes you choose, and to withdraw your consent (article 37)",
        "(article 35(4))",
        "(article 36(1) proviso)",
        "(article 37(2))",
        "which ground of the Act applies and how to object",
        "legal representative of a child under 14 can exercise all of these rights",
        "(article 38(2))",
        "power of attorney (article 38(1))",
        "within 30 days of the answer",
        "(article 38(5))",
        "Personal Information Dispute Mediation Committee",
        'href="/dsar/"',
    ):
        assert fact in rights, fact
    assert "article 35-2" not in rights  # DSAR-09: off by default
    settings.DSAR_OPTIONAL_REQUEST_TYPES = ["portability"]
    assert "(article 35-2)" in section(draft(), 6)


def test_meta_classification_is_a_setting_the_page_follows(english):
    """PV-04: entrustment lists Meta in 3.1; provision moves it to 3.2 and the overseas table says so."""
    from thirdparty.models import Processor

    def part(document, start, end):
        return re.search(rf'id="{start}".*?id="{end}"', document, re.S).group(0)

    document = draft()
    assert "Meta" in part(document, "s3-1", "s3-2") and "Meta" not in part(document, "s3-2", "s3-3")
    Processor.objects.filter(name="Meta").update(kind="provision")
    document = draft()
    assert "Meta" not in part(document, "s3-1", "s3-2")
    recipients = part(document, "s3-2", "s3-3")
    assert "Meta" in recipients and "Hashed email address and phone number" in recipients
    overseas = part(document, "s3-3", "s3-4")
    assert "for their own purposes (provision, section 3.2)" in overseas
    assert re.search(r"Meta<br><span class=\"small\">Provision to a third party", overseas)


def test_the_desk_flags_meta_s_classification_for_legal_review(admin_login, officer):
    """CM-13 / PV-04: seeded as awaiting review; the flag goes once legal has confirmed it."""
    from thirdparty.models import Processor

    meta = Processor.objects.get(name="Meta")
    assert meta.kind_needs_legal_review and "CM-13" in meta.kind_review_note
    page = admin_login(officer).get("/admin/", headers={"accept-language": "en"}).content.decode()
    flagged = re.search(r'id="desk-classification-review".*?</ul>', page, re.S).group(0)
    assert "Meta" in flagged and "Entrustment of processing" in flagged
    Processor.objects.filter(pk=meta.pk).update(kind_needs_legal_review=False)
    page = admin_login(officer).get("/admin/", headers={"accept-language": "en"}).content.decode()
    assert 'id="desk-classification-review"' not in page


def test_a_new_processor_is_held_out_of_the_published_text_until_its_version_takes_effect(
    client, now, officer, admin_login
):
    """PC-04: added now, the processor is on the desk as not published; announced, the desk names
    the version and date; the page leaves it out until that date and states it from then on."""
    from thirdparty.models import Processor

    def page() -> bytes:
        content = client.get("/privacy/", headers={"accept-language": "en"}).content
        return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)

    before = page()
    Processor.objects.create(
        name="NewCo Mail", entrusted_task="Sending event invitations", country="Korea", data_categories=["events"]
    )
    assert page() == before
    waiting = services.processors_awaiting_publication()
    assert waiting == [
        {"name": "NewCo Mail", "new": True, "version": "", "effective_at": None, "receives_nothing": True}
    ]
    desk = admin_login(officer).get("/admin/", headers={"accept-language": "en"}).content.decode()
    assert "NewCo Mail" in desk and "no announced version states it yet; receives no data until then" in desk

    version = services.draft_policy_version(label="2026-04-01", effective_at=seoul(2026, 4, 1), is_significant=True)
    services.announce_policy_version(version=version, actor=officer)
    waiting = services.processors_awaiting_publication()
    assert waiting[0]["version"] == "2026-04-01" and waiting[0]["effective_at"] == seoul(2026, 4, 1)
    desk = admin_login(officer).get("/admin/", headers={"accept-language": "en"}).content.decode()
    assert "stated by version 2026-04-01, in force on 2026-04-01" in desk
    # The page now links to the upcoming version, and still does not state the processor.
    assert b"NewCo Mail" not in page() and b"/privacy/versions/2026-04-01/" in page()

    now.move_to(seoul(2026, 4, 1, 0, 5))
    assert b"NewCo Mail" in page()
    assert services.processors_awaiting_publication() == []


def test_a_changed_wording_is_listed_but_a_category_not_stated_holds_the_data_back(alice):
    """With a generated version in force, a processor's new wording changes what is published,
    not who receives what; a category the version does not state stops the data until it does."""
    from consent.services import grant_consent
    from thirdparty.models import Processor
    from thirdparty.services import may_share

    grant_consent(subject=alice, purpose="marketing", channel="web_form")
    stibee = Processor.objects.get(name="Stibee")
    stibee.entrusted_task_en = "Sending newsletters and event invitations"
    stibee.save()
    assert [(p["name"], p["receives_nothing"]) for p in services.processors_awaiting_publication()] == [
        ("Stibee", False)
    ]
    assert may_share(subject=alice, processor=stibee, purpose="marketing").allowed

    stibee.data_categories = [*stibee.data_categories, "device_usage"]
    stibee.save()
    assert [(p["name"], p["receives_nothing"]) for p in services.processors_awaiting_publication()] == [
        ("Stibee", True)
    ]
    assert not may_share(subject=alice, processor=stibee, purpose="marketing").allowed
