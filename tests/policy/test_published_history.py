"""The published policy is what was announced: the seed text first, then versions announced
with notice, each passing the gate of mandatory items (PC-01, PC-02, PC-04, PC-05)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from policy import services

from .conftest import complete_overseas_contacts, seoul

pytestmark = pytest.mark.django_db

# These tests start from a fresh install: version 2025-01-02 (the seed text) alone in force.
SEED_ONLY = True

REPO_SEED = Path(__file__).resolve().parents[2] / "policy" / "seed" / "privacy-policy-2025-01-02.txt"
# In CI the shared folder sits beside the project; the repository's copy must be the same file.
SHARED_SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "privacy-policy.txt"


def seed_sentences() -> list[str]:
    lines = [line.strip() for line in REPO_SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[next(i for i, line in enumerate(lines) if line.startswith("Palette Inc. (")) :]


def page(client, path: str, language: str) -> bytes:
    """The page's bytes, less the language form's CSRF token (a fresh mask on every response)."""
    content = client.get(path, headers={"accept-language": language}).content
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b'name="csrfmiddlewaretoken"', content)


def test_the_repository_keeps_the_published_seed_text_byte_for_byte():
    """PC-05: the archived first version is the file the company published."""
    if SHARED_SEED.exists():
        assert REPO_SEED.read_bytes() == SHARED_SEED.read_bytes()
    assert "Announcement Date: January 2, 2025" in REPO_SEED.read_text(encoding="utf-8")


def test_the_archived_2025_01_02_text_is_the_seed_policy_verbatim(client):
    """PC-05: version 2025-01-02 in the archive states every sentence the company published."""
    archived = html.unescape(page(client, "/privacy/versions/2025-01-02/", "en").decode())
    for sentence in seed_sentences():
        assert sentence in archived
    # Nothing the seed never announced: no generated overseas section, no retention table.
    assert "article 28-8" not in archived and 'id="s3-3"' not in archived
    version = services.current_version()
    assert version.label == "2025-01-02"
    assert version.announced_at == version.effective_at == seoul(2025, 1, 2)


def test_the_korean_page_of_the_seed_version_says_it_is_the_english_original(client):
    korean = html.unescape(page(client, "/privacy/versions/2025-01-02/", "ko").decode())
    assert "영어 원문 그대로이며, 번역문이 아닙니다" in korean
    assert 'Palette Inc. ("Company") places great importance' in korean
    assert html.unescape(page(client, "/privacy/", "ko").decode()).count("번역문이 아닙니다") == 1


def test_the_processors_the_seed_text_names_are_changed_not_new():
    """PC-04: with the seed text in force, GA, Meta and Stibee are named in its prose, so the desk
    lists them as changed (the details are not stated yet), a processor it never named as new."""
    from thirdparty.models import Processor

    Processor.objects.create(name="NewCo Mail", entrusted_task="Invitations", country="Korea")
    listed = services.processors_awaiting_publication()
    assert {p["name"]: p["new"] for p in listed} == {
        "Google Analytics": False,
        "Meta": False,
        "Stibee": False,
        "NewCo Mail": True,
    }
    # Only the one the text never names is held back from data.
    assert [p["name"] for p in listed if p["receives_nothing"]] == ["NewCo Mail"]


def test_the_desk_says_the_rules_that_run_differ_from_the_seed_text():
    """The seed text was not rendered from records: the running rules always differ from it."""
    assert services.policy_is_out_of_date() is True
    changes = services.draft_changes(language="en")
    assert changes and changes[0]["section"] == "text"
    assert any(line.startswith("+") and "Google Analytics" in line for line in changes[0]["lines"])


def test_edits_leave_the_page_byte_for_byte_unchanged_until_a_version_is_in_force(client, now, officer):
    """PC-04: a processor added in China, a rule and a purpose edited: /privacy/ stays the
    announced text until the version stating them is announced (30 days) and takes effect."""
    from consent.models import Purpose
    from retention.models import RetentionRule
    from thirdparty.models import Processor

    before = {language: page(client, "/privacy/", language) for language in ("ko", "en")}
    Processor.objects.create(
        name="Shenzhen Render Co.",
        entrusted_task="Image rendering",
        entrusted_task_ko="이미지 렌더링",
        country="China",
        transfers_overseas=True,
        data_categories=["identity_contact"],
        transfer_contact="privacy@render.example",
        transfer_basis_ko="정보주체의 동의",
        transfer_basis_en="Your consent",
        transferred_items_ko="이름",
        transferred_items_en="Name",
        transfer_method_ko="요청할 때 암호화된 통신망으로 전송",
        transfer_method_en="Sent over an encrypted connection on request",
    )
    RetentionRule.objects.filter(key="visit_logs").update(period_value=6)
    Purpose.objects.filter(key="marketing").update(description="Changed wording")
    for language in ("ko", "en"):
        assert page(client, "/privacy/", language) == before[language]
    assert services.policy_is_out_of_date() is True

    complete_overseas_contacts()
    first = services.draft_policy_version(label="2026-04-01", effective_at=seoul(2026, 4, 1), is_significant=True)
    services.announce_policy_version(version=first, actor=officer)
    announced = html.unescape(page(client, "/privacy/", "en").decode())
    assert "Shenzhen Render Co." not in announced  # the seed text is still in force
    assert "takes effect on April 1, 2026" in announced
    now.move_to(seoul(2026, 4, 1, 0, 0, 1))
    in_force = html.unescape(page(client, "/privacy/", "en").decode())
    assert "Shenzhen Render Co." in in_force and "China" in in_force
    assert services.policy_is_out_of_date() is False


def test_the_first_generated_version_is_a_significant_change(english, now, officer):
    """PC-04: replacing the seed text with the generated policy needs 30 days' notice."""
    complete_overseas_contacts()
    minor = services.draft_policy_version(label="minor", effective_at=seoul(2026, 3, 9))
    with pytest.raises(services.PolicyError, match="significant"):
        services.announce_policy_version(version=minor, actor=officer)


def test_announcing_with_a_missing_overseas_contact_is_refused_with_the_list(english, now, officer):
    """PC-02: the gate names every missing mandatory item, and nothing is announced."""
    from retention.models import RetentionRule

    RetentionRule.objects.create(
        key="new_rule", name="A new rule", period_value=1, period_unit="years", runs_from="x", legal_basis="y"
    )
    version = services.draft_policy_version(label="2026-04-01", effective_at=seoul(2026, 4, 1), is_significant=True)
    with pytest.raises(services.PolicyError) as refused:
        services.announce_policy_version(version=version, actor=officer)
    message = str(refused.value)
    assert "mandatory items are missing (PC-02)" in message
    # Google's privacy contact is seeded (thirdparty 0009, source in docs/POLICY.md); Meta's could
    # not be confirmed and is left to staff.
    assert "overseas transfer to Google Analytics" not in message
    assert "overseas transfer to Meta: contact" in message
    assert "retention rule new_rule" in message
    version.refresh_from_db()
    assert not version.is_announced


def test_the_gate_also_wants_the_officer_and_the_institutions(english):
    from policy.models import ComplaintInstitution, PrivacyOfficer

    complete_overseas_contacts()
    assert services.missing_policy_items() == []
    PrivacyOfficer.objects.update(email="")
    ComplaintInstitution.objects.update(active=False)
    missing = services.missing_policy_items()
    assert "the privacy officer's phone and email" in missing
    assert "the institutions for reports and advice" in missing


def test_a_processor_takes_data_categories_from_the_registry_only():
    """PC-02: free JSON such as {"a": 1} never reaches the transfer table."""
    from thirdparty.admin import ProcessorForm
    from thirdparty.models import Processor

    meta = Processor.objects.get(name="Meta")
    meta.data_categories = {"a": 1}
    with pytest.raises(ValidationError, match="registry"):
        meta.full_clean()
    meta.data_categories = ["a"]
    with pytest.raises(ValidationError, match="registry"):
        meta.full_clean()
    field = ProcessorForm.base_fields["data_categories"]
    with pytest.raises(ValidationError):
        field.clean(["a"])
    assert field.clean(["identity_contact", "device_usage"]) == ["identity_contact", "device_usage"]


def test_the_draft_beside_the_version_in_force_in_the_admin(admin_login, officer):
    from policy.models import PolicyVersion

    version = PolicyVersion.objects.create(label="next", effective_at=seoul(2030, 1, 1), is_significant=True)
    change = admin_login(officer).get(
        f"/admin/policy/policyversion/{version.pk}/change/", headers={"accept-language": "en"}
    )
    body = html.unescape(change.content.decode())
    assert "Announcing is refused until these are recorded:" in body
    assert "overseas transfer to Meta: contact" in body
    assert 'class="policy-diff"' in body and "+Google Analytics" in body


def test_a_processor_receives_nothing_until_the_version_naming_it_is_in_force(alice, english, now, officer):
    """PIPA art. 26(2) (PV-02): data goes only to processors the policy in force names, with the
    categories it states; the refusal says what is missing and when the announced version covers it."""
    from consent.services import grant_consent
    from thirdparty.models import DataTransfer, Processor
    from thirdparty.services import may_share, share_subjects

    grant_consent(subject=alice, purpose="marketing", channel="web_form")
    newco = Processor.objects.create(
        name="NewCo Mail",
        entrusted_task="Invitations",
        country="Korea",
        data_categories=["identity_contact"],
        share_purpose="marketing",
    )
    stibee = Processor.objects.get(name="Stibee")
    assert may_share(subject=alice, processor=stibee, purpose="marketing").allowed  # named by the seed text
    refused = may_share(subject=alice, processor=newco, purpose="marketing")
    assert not refused.allowed
    assert refused.reason == (
        "The privacy policy in force does not name NewCo Mail; nothing goes to it before it does. "
        "No announced version states it yet."
    )
    with translation.override("ko"):
        korean = may_share(subject=alice, processor=newco, purpose="marketing").reason
    assert korean.startswith("시행 중인 개인정보 처리방침에 NewCo Mail") and "공지되지 않았습니다" in korean

    complete_overseas_contacts()
    version = services.draft_policy_version(label="2026-04-01", effective_at=seoul(2026, 4, 1), is_significant=True)
    services.announce_policy_version(version=version, actor=officer)
    result = share_subjects(subjects=[alice], processor=newco, purpose="marketing", reference="invites")
    assert result.allowed == []
    assert result.refused[alice.pk].endswith("Version 2026-04-01, announced, states it from 2026-04-01.")
    assert DataTransfer.objects.get(reference="invites").refused_count == 1

    now.move_to(seoul(2026, 4, 1, 0, 0, 1))
    assert may_share(subject=alice, processor=newco, purpose="marketing").allowed

    # A category the version in force does not state stops the flow again, naming the category.
    newco.data_categories = ["identity_contact", "device_usage"]
    newco.save()
    refused = may_share(subject=alice, processor=newco, purpose="marketing")
    assert not refused.allowed
    assert refused.reason.startswith(
        "The privacy policy in force does not state that NewCo Mail receives Device information, IP address, "
        "cookies, visit and usage logs;"
    )
