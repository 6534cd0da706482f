"""Writes and queries of the published policy: drafting and announcing versions, freezing their
text, the "out of date" check, purposes needing new consent, and the change notices."""

from __future__ import annotations

import difflib
import logging
import re
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import strip_tags
from django.utils.translation import gettext

from privacyops.lib import outbox
from privacyops.lib.actors import require_permission
from privacyops.lib.i18n import pick
from privacyops.lib.urls import absolute_url
from subjects.models import DataSubject

from .content import collect_policy_facts, fingerprint, long_date, present, unexplained_safety_facts
from .models import (
    NOTICE_DAYS,
    SIGNIFICANT_NOTICE_DAYS,
    DeliveryStatus,
    PolicyNoticeDelivery,
    PolicyVersion,
    PrivacyOfficer,
    notice_period_error,
)

logger = logging.getLogger(__name__)

LANGUAGES = ("ko", "en")
PUBLISH_PERMISSION = "policy.publish_policyversion"
# Resending or recording bounces changes the ledger of notices: not for the read-only auditor.
NOTICE_PERMISSION = "policy.change_policynoticedelivery"


class PolicyError(Exception):
    """A rule of the published policy refused the action; the message is safe to show."""


class NotAllowed(PolicyError):
    pass


# --- reading --------------------------------------------------------------------------------


def current_version(now: datetime | None = None) -> PolicyVersion | None:
    """The announced version in force now (the latest one whose effective date has come)."""
    return PolicyVersion.objects.in_force(now).first()


# The label in force as this process last read it: (label, read at, good until). Every consent
# records it, and reading it was one of the per-person consent write's nine statements. It is
# exact, not merely recent: the copy is good until the next announced version takes effect (or
# VERSION_CACHE_SECONDS, whichever is first), and a version takes effect at least NOTICE_DAYS
# after it is announced (announce refuses less), so no other process can announce one that starts
# within the copy's life. Saving or deleting a version empties this process's copy (apps.py).
VERSION_CACHE_SECONDS = 10
_label_read: tuple[str, datetime, datetime] | None = None


def current_version_label() -> str:
    """The provider behind `privacyops.lib.hooks.current_policy_version` (recorded with consents)."""
    global _label_read
    now = timezone.now()
    read = _label_read  # one read of the global: another thread may replace it meanwhile
    if read is None or not read[1] <= now < read[2]:
        label = PolicyVersion.objects.in_force(now).values_list("label", flat=True).first() or ""
        starts = PolicyVersion.objects.upcoming(now).values_list("effective_at", flat=True).first()
        until = now + timedelta(seconds=VERSION_CACHE_SECONDS)
        read = (label, now, min(until, starts) if starts else until)
        _label_read = read
    return read[0]


def forget_version_label(**_signal_kwargs) -> None:
    global _label_read
    _label_read = None


def upcoming_versions(now: datetime | None = None):
    return PolicyVersion.objects.upcoming(now)


def dsar_url() -> str:
    try:
        return reverse("dsar:request")
    except Exception:  # noqa: BLE001  (the DSAR app's URL name is not ours to rely on)
        return "/dsar/"


def cookie_banner_url() -> str:
    """The consent app's banner script, which lets a visitor reopen the cookie choices; "" without it."""
    try:
        return reverse("consent:banner_js")
    except Exception:  # noqa: BLE001  (the consent app's URL name is not ours to rely on)
        return ""


def render_policy_document(*, facts: dict[str, Any], version: PolicyVersion | None, language: str) -> str:
    """The policy's sections as HTML, in `language`, stating `version`'s dates."""
    rights = facts.get("rights") or {}
    with translation.override(language):
        return render_to_string(
            "policy/_document.html",
            {
                "p": present(facts),
                "version": version,
                "announced_on": long_date(version.announced_at) if version and version.announced_at else "",
                "effective_on": long_date(version.effective_at) if version else "",
                "notice_days": NOTICE_DAYS,
                "significant_notice_days": SIGNIFICANT_NOTICE_DAYS,
                "dsar_url": dsar_url(),
                "dsar_due_days": rights.get("due_days", getattr(settings, "DSAR_DUE_DAYS", 10)),
                "rights_portability": "portability" in rights.get("optional_types", []),
                "rights_automated_decision": "automated_decision" in rights.get("optional_types", []),
                "versions_url": reverse("policy:versions"),
            },
        )


def policy_is_out_of_date(now: datetime | None = None) -> bool:
    """True when the rules that run differ from the published policy in force.

    Compared with the version in force, not the latest announced: an announced version that has
    not taken effect yet does not cover the rules, the page still serves the old text. The seed
    version (2025-01-02) has no facts, since it is the company's own text, so the rules always
    differ from it.
    """
    version = current_version(now)
    if version is None:
        return True
    if not version.fingerprint:
        return False  # the text is frozen on first use; nothing to compare yet
    return fingerprint(collect_policy_facts()) != version.fingerprint


def covering_version(now: datetime | None = None) -> PolicyVersion | None:
    """An announced, upcoming version whose facts are the rules that run now, if any."""
    live = fingerprint(collect_policy_facts())
    return upcoming_versions(now).filter(fingerprint=live).first()


def processors_awaiting_publication(now: datetime | None = None) -> list[dict[str, Any]]:
    """Active processors the version in force does not state as they are now (new, or changed),
    each with the announced version that states them and its effective date, if any.

    The page keeps serving the version in force, so such a processor stays out of the published
    text until that date; until then the desk lists it, and a processor the text does not name, or
    a category it does not state, receives nothing (`processor_unstated`, asked by every share).
    """
    version = current_version(now)
    published = {p.get("name"): p for p in (version.facts.get("processors", []) if version else [])}
    live = collect_policy_facts()["processors"]
    upcoming = list(upcoming_versions(now))
    out = []
    for row in live:
        name = row.get("name")
        if published.get(name) == row:
            continue
        covering = next((v for v in upcoming if row in (v.facts or {}).get("processors", [])), None)
        out.append(
            {
                "name": name,
                # One the seed text names in its own prose is "changed", not new.
                "new": name not in published and not _named_by_seed_text(version, name),
                "version": covering.label if covering else "",
                "effective_at": covering.effective_at if covering else None,
                # The share gate's answer: named with every category it receives, or not.
                "receives_nothing": _unstated(version, upcoming, name, row.get("data_categories")) is not None,
            }
        )
    return out


def processor_unstated(*, name: str, data_categories, now: datetime | None = None) -> dict[str, Any] | None:
    """The provider behind `privacyops.lib.hooks.processor_unstated`, asked before any data goes to
    a processor: None when the version in force names it and, where that version records its
    facts, states every category of data it receives (PIPA art. 26(2): the entrusted work and
    every entrustee are published). Otherwise what is missing ("missing_categories": the keys not
    stated, or None when the processor is not named at all) and the announced version that states
    it ("version", "effective_at"; "" and None when none is announced)."""
    return _unstated(current_version(now), list(upcoming_versions(now)), name, data_categories)


def _named_by_seed_text(version: PolicyVersion | None, name: str) -> bool:
    """The seed version records no facts; it names processors in its own prose."""
    return version is not None and not version.facts and bool(name) and name in version.frozen_html_en


def _stated_row(version: PolicyVersion, name: str) -> dict[str, Any] | None:
    return next((p for p in (version.facts or {}).get("processors", []) if p.get("name") == name), None)


def _unstated(version: PolicyVersion | None, upcoming: list, name: str, data_categories) -> dict[str, Any] | None:
    wanted = set(data_categories or [])
    missing: list[str] | None = None
    if version is not None and version.facts:
        row = _stated_row(version, name)
        if row is not None:
            missing = sorted(wanted - set(row.get("data_categories") or []))
            if not missing:
                return None
    elif _named_by_seed_text(version, name):
        return None  # without facts, no categories to compare
    covering = next(
        (v for v in upcoming if (row := _stated_row(v, name)) and wanted <= set(row.get("data_categories") or [])),
        None,
    )
    return {
        "missing_categories": missing,
        "version": covering.label if covering else "",
        "effective_at": covering.effective_at if covering else None,
    }


def processors_for_legal_review() -> list[dict[str, Any]]:
    """Processors whose classification (entrustment or provision) awaits legal review; the page
    follows the classification recorded now, so the desk keeps it in view."""
    from thirdparty.models import Processor

    return [
        {"pk": p.pk, "name": p.name, "kind": p.get_kind_display(), "note": p.kind_review_note}
        for p in Processor.objects.filter(active=True, kind_needs_legal_review=True).order_by("name")
    ]


def purposes_needing_reconsent() -> dict[str, str]:
    """Purpose key -> label of the latest announced version that requires new consent for it.

    A consent recorded under an earlier policy version than the one named here (consent records
    the version with every event) needs to be collected again (REQUIREMENTS PC-06). Only
    versions already announced count; drafts flag nothing.
    """
    flagged: dict[str, str] = {}
    for label, keys in (
        PolicyVersion.objects.announced().order_by("effective_at", "pk").values_list("label", "reconsent_purpose_keys")
    ):
        for key in keys or []:
            flagged[key] = label
    return flagged


# --- the draft beside the version in force ----------------------------------------------------

_SECTION = re.compile(r'<section aria-labelledby="(s\d+)">(.*?)</section>', re.S)
_BLOCK_END = re.compile(r"</(?:p|li|tr|h\d|dd|dt|caption)>|<br\s*/?>", re.I)


def _text_lines(html: str) -> list[str]:
    text = _BLOCK_END.sub("\n", html)
    return [" ".join(line.split()) for line in strip_tags(text).splitlines() if line.strip()]


def document_sections(html: str) -> dict[str, list[str]]:
    """The text lines of each numbered section (the seed's text, which has none, as one)."""
    sections = {key: _text_lines(body) for key, body in _SECTION.findall(html)}
    return sections or {"text": _text_lines(html)}


def draft_changes(*, language: str = "ko", now: datetime | None = None) -> list[dict[str, Any]]:
    """What the live rendering (the draft) changes against the version in force, section by section."""
    version = current_version(now)
    published = document_sections(version.frozen_html(language) if version else "")
    draft = document_sections(render_policy_document(facts=collect_policy_facts(), version=None, language=language))
    if set(published) == {"text"}:
        # The seed is one text: compare it with the whole draft.
        draft = {"text": [line for lines in draft.values() for line in lines]}
    changes = []
    for key in list(dict.fromkeys([*published, *draft])):
        diff = list(difflib.unified_diff(published.get(key, []), draft.get(key, []), lineterm="", n=1))[2:]
        if diff:
            changes.append({"section": key, "lines": diff})
    return changes


# --- what changed ---------------------------------------------------------------------------


def _data_types(facts: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["category"], f) for e in facts.get("registry", []) for f in e["fields"]}


def _purpose_keys(facts: dict[str, Any]) -> set[str]:
    return {p.get("key", "") for p in facts.get("purposes", [])}


def significant_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The significant differences (policy 7: types or purposes of data, processors, overseas transfer)."""
    if not old:
        # The version before is the company's own text (the seed), not a rendering of records:
        # everything a generated version states is new against it.
        return [gettext("whole text: the first version generated from the records")]
    reasons = []
    if _data_types(old) != _data_types(new) or old.get("collected_items", []) != new.get("collected_items", []):
        reasons.append(gettext("types of data"))
    if old.get("purposes", []) != new.get("purposes", []):
        reasons.append(gettext("purposes"))
    if old.get("processors", []) != new.get("processors", []):
        reasons.append(gettext("processors or overseas transfers"))
    return reasons


def _reconsent_keys(old: dict[str, Any], new: dict[str, Any], requested: list[str]) -> list[str]:
    keys = set(requested)
    if old:
        keys |= _purpose_keys(new) - _purpose_keys(old)
        if _data_types(new) - _data_types(old):
            # New kinds of data: every consent given for the old list of items is affected.
            keys |= {p.get("key", "") for p in new.get("purposes", []) if "consent" in str(p.get("legal_basis", ""))}
    keys.discard("")
    return sorted(keys)


# --- the gate before announcing (PC-02) -----------------------------------------------------


def _category_label(value: str) -> str:
    from subjects.registry import DataCategory

    return str(DataCategory(value).label) if value in DataCategory.values else value


def missing_policy_items(facts: dict[str, Any] | None = None) -> list[str]:
    """What the draft lacks that PIPA art. 30 and Decree art. 31 require the policy to state."""
    facts = collect_policy_facts() if facts is None else facts
    missing: list[str] = []
    officers = [o for o in facts.get("officers", []) if o.get("phone") and o.get("email")]
    if not officers:
        missing.append(gettext("the privacy officer's phone and email"))
    if not facts.get("institutions"):
        missing.append(gettext("the institutions for reports and advice"))
    for p in facts.get("processors", []):
        if not p.get("transfers_overseas"):
            continue
        lacking = []
        if not p.get("country"):
            lacking.append(gettext("country"))
        if not p.get("transfer_contact"):
            lacking.append(gettext("contact"))
        if not (p.get("transfer_basis_ko") and p.get("transfer_basis_en")):
            lacking.append(gettext("legal basis in Korean and English"))
        if not (p.get("transferred_items_ko") and p.get("transferred_items_en")):
            lacking.append(gettext("items transferred in Korean and English"))
        if not (p.get("transfer_method_ko") and p.get("transfer_method_en")):
            lacking.append(gettext("time and method of transfer in Korean and English"))
        if lacking:
            missing.append(
                gettext("overseas transfer to %(name)s: %(what)s")
                % {"name": p.get("name", ""), "what": ", ".join(lacking)}
            )
    described = {i.get("category") for i in facts.get("collected_items", [])}
    for category in dict.fromkeys(e["category"] for e in facts.get("registry", [])):
        if category not in described:
            missing.append(
                gettext("the items collected in the category %(category)s, in words for the public")
                % {"category": _category_label(category)}
            )
    unexplained = unexplained_safety_facts(facts.get("safety") or {})
    if unexplained:
        missing.append(
            gettext("public words for these protection measures: %(items)s") % {"items": ", ".join(unexplained)}
        )
    for rule in facts.get("retention_rules", []):
        public = ("public_name_ko", "public_name_en", "public_runs_from_ko", "public_runs_from_en")
        if not all(rule.get(f) for f in public):
            missing.append(
                gettext("the public Korean and English texts of retention rule %(key)s") % {"key": rule.get("key", "")}
            )
    document = render_policy_document(facts=facts, version=None, language="ko")
    if 'id="s6-3"' not in document or dsar_url() not in document:
        missing.append(gettext("the rights section with the request form"))
    return missing


# --- drafting and announcing ----------------------------------------------------------------


def draft_policy_version(
    *,
    label: str,
    effective_at: datetime,
    is_significant: bool = False,
    summary_ko: str = "",
    summary_en: str = "",
    reconsent_purpose_keys: list[str] | None = None,
) -> PolicyVersion:
    version = PolicyVersion(
        label=label,
        effective_at=effective_at,
        is_significant=is_significant,
        summary_ko=summary_ko,
        summary_en=summary_en,
        reconsent_purpose_keys=list(reconsent_purpose_keys or []),
    )
    try:
        version.full_clean()
    except ValidationError as exc:
        raise PolicyError(" ".join(m for messages in exc.message_dict.values() for m in messages)) from exc
    version.save()
    return version


def announce_policy_version(*, version: PolicyVersion | str, actor, now: datetime | None = None) -> PolicyVersion:
    """Publish a draft: check the notice period, freeze its text in Korean and English with the
    facts it was rendered from, flag purposes needing new consent, and queue the notices."""
    require_permission(
        actor, PUBLISH_PERMISSION, error=NotAllowed, message=gettext("You are not allowed to publish policy versions.")
    )
    now = now or timezone.now()
    label = version if isinstance(version, str) else version.label
    with transaction.atomic():
        version = PolicyVersion.objects.select_for_update().filter(label=label).first()
        if version is None:
            raise PolicyError(gettext("There is no policy version %(label)s.") % {"label": label})
        if version.is_announced:
            raise PolicyError(
                gettext("Version %(label)s was already announced; publish a new version instead.") % {"label": label}
            )
        error = notice_period_error(
            announced_at=now, effective_at=version.effective_at, is_significant=version.is_significant
        )
        if error:
            raise PolicyError(error)
        missing = missing_policy_items()
        if missing:
            raise PolicyError(
                gettext("The policy cannot be announced while mandatory items are missing (PC-02): %(items)s.")
                % {"items": "; ".join(missing)}
            )
        previous = PolicyVersion.objects.announced().order_by("-effective_at", "-pk").first()
        if previous and version.effective_at <= previous.effective_at:
            raise PolicyError(
                gettext("Version %(label)s must take effect after version %(previous)s (%(date)s).")
                % {"label": label, "previous": previous.label, "date": long_date(previous.effective_at)}
            )
        facts = collect_policy_facts()
        old_facts = previous.facts if previous else {}
        reasons = significant_changes(old_facts, facts) if previous else []
        if reasons and not version.is_significant:
            raise PolicyError(
                gettext(
                    "This change is significant (it changes the %(what)s): mark it significant, "
                    "which needs %(days)d days' notice (policy 7)."
                )
                % {"what": ", ".join(str(r) for r in reasons), "days": SIGNIFICANT_NOTICE_DAYS}
            )
        known = _purpose_keys(facts)
        unknown = [k for k in version.reconsent_purpose_keys if known and k not in known]
        if unknown:
            raise PolicyError(gettext("Unknown purpose keys: %(keys)s.") % {"keys": ", ".join(unknown)})
        version.reconsent_purpose_keys = (
            _reconsent_keys(old_facts, facts, version.reconsent_purpose_keys) if version.is_significant else []
        )
        version.announced_at = now
        version.published_by = actor
        version.facts = facts
        version.fingerprint = fingerprint(facts)
        version.frozen_html_ko = render_policy_document(facts=facts, version=version, language="ko")
        version.frozen_html_en = render_policy_document(facts=facts, version=version, language="en")
        version.save()
        from .tasks import send_policy_notices as send_task

        send_task.delay_on_commit()
    logger.info("policy version %s announced by user %s", version.pk, actor.pk)
    return version


def freeze_unfrozen_versions() -> int:
    """Freeze the text of announced versions that have none yet (the seeded current version).

    A data migration cannot render the page: it sees historical models, not the registry or the
    other apps' live models, and runs before their seed data exists. So the seed records its
    dates and this fills in the text once every app has migrated (post_migrate, and the archive
    view as a fallback), from the records as they stand at deployment, which are the seeds.
    """
    frozen = 0
    for version in PolicyVersion.objects.announced().filter(fingerprint=""):
        facts = collect_policy_facts()
        # update(), not save(): the one write allowed on an announced version is filling its
        # empty text, and only where it is still empty.
        frozen += PolicyVersion.objects.filter(pk=version.pk, fingerprint="").update(
            facts=facts,
            fingerprint=fingerprint(facts),
            frozen_html_ko=render_policy_document(facts=facts, version=version, language="ko"),
            frozen_html_en=render_policy_document(facts=facts, version=version, language="en"),
        )
    return frozen


# --- notices --------------------------------------------------------------------------------


@dataclass
class NoticeRun:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    bounced: int = 0
    batches: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def queue_policy_notices(*, version: PolicyVersion, batch_size: int | None = None) -> int:
    """One pending delivery per subject with an email, in keyset batches (short transactions).

    Everyone with an address is notified, including people who refused marketing or restricted
    processing: a policy notice is information the controller owes them, not marketing.
    """
    batch_size = batch_size or settings.POLICY_NOTICE_BATCH_SIZE
    now = timezone.now()
    created = 0
    last_id = 0
    while True:
        ids = list(
            DataSubject.objects.filter(email__isnull=False, pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        with transaction.atomic():
            made = PolicyNoticeDelivery.objects.bulk_create(
                [PolicyNoticeDelivery(version=version, subject_id=i, queued_at=now, next_attempt_at=now) for i in ids],
                ignore_conflicts=True,
            )
        created += len(made)
        last_id = ids[-1]
    PolicyVersion.objects.filter(pk=version.pk, notices_queued_at__isnull=True).update(notices_queued_at=now)
    logger.info("policy version %s: %d notices queued", version.pk, created)
    return created


def _backoff(attempts: int) -> timedelta:
    return outbox.retry_delay(attempts, base_seconds=settings.POLICY_NOTICE_RETRY_BASE_SECONDS)


def _claim_batch(*, batch_size: int, now: datetime) -> list[PolicyNoticeDelivery]:
    due = PolicyNoticeDelivery.objects.due(now, settings.POLICY_NOTICE_MAX_ATTEMPTS)
    claimed = outbox.claim_batch(
        due, batch_size=batch_size, lease_seconds=settings.POLICY_NOTICE_LEASE_SECONDS, now=now
    )
    return list(claimed.select_related("version", "subject"))


def _officer_email() -> str:
    return PrivacyOfficer.objects.order_by("sort_order", "pk").values_list("email", flat=True).first() or ""


def render_notice(version: PolicyVersion, *, contact: str | None = None) -> tuple[str, str]:
    """The notice's subject and body (Korean, then English): the same for every recipient."""
    url = absolute_url(reverse("policy:version", args=[version.label]))
    contact = _officer_email() if contact is None else contact
    parts = []
    subject_line = ""
    for language in LANGUAGES:
        with translation.override(language):
            context = {
                "version": version,
                "summary": pick(version, "summary", language, korean_fallback=False),
                "announced_on": long_date(version.announced_at),
                "effective_on": long_date(version.effective_at),
                "url": url,
                "contact": contact,
            }
            parts.append(render_to_string("policy/email/notice_body.txt", context).strip())
            if not subject_line:
                subject_line = render_to_string("policy/email/notice_subject.txt", context).strip()
    return subject_line, "\n\n----------------------------------------\n\n".join(parts) + "\n"


def _send_batch(batch: list[PolicyNoticeDelivery], run: NoticeRun) -> None:
    max_attempts = settings.POLICY_NOTICE_MAX_ATTEMPTS
    contact = _officer_email()
    rendered: dict[int, tuple[str, str]] = {}
    connection = get_connection()
    try:
        connection.open()
        opened_error = None
    except Exception as exc:  # noqa: BLE001  (a mail server that is down fails the batch, retried later)
        opened_error = exc
    # Sent rows share the batch's start as their sent time, so they update in one statement.
    batch_time = timezone.now()
    for delivery in batch:
        delivery.attempts += 1
        delivery.claim_token = None
        error: BaseException | None = opened_error
        if error is None and not delivery.subject.email:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = "NoEmailAddress"
            delivery.next_attempt_at = None
            delivery.attempts = max(delivery.attempts, max_attempts)
            run.failed += 1
            run.errors["NoEmailAddress"] = run.errors.get("NoEmailAddress", 0) + 1
            continue
        if error is None:
            try:
                if delivery.version_id not in rendered:
                    rendered[delivery.version_id] = render_notice(delivery.version, contact=contact)
                subject_line, body = rendered[delivery.version_id]
                message = EmailMessage(subject=subject_line, body=body, to=[delivery.subject.email])
                if connection.send_messages([message]) != 1:
                    error = RuntimeError("not sent")
            except Exception as exc:  # noqa: BLE001  (recorded per delivery by class name, then retried)
                error = exc
        if error is None:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = batch_time
            delivery.next_attempt_at = None
            delivery.last_error = ""
            run.sent += 1
        elif isinstance(error, smtplib.SMTPRecipientsRefused):
            # The server refused the address itself: retrying will not help.
            delivery.status = DeliveryStatus.BOUNCED
            delivery.last_error = type(error).__name__
            delivery.next_attempt_at = None
            run.bounced += 1
        else:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = type(error).__name__[:100]
            delivery.next_attempt_at = (
                batch_time + _backoff(delivery.attempts) if delivery.attempts < max_attempts else None
            )
            run.failed += 1
            run.errors[delivery.last_error] = run.errors.get(delivery.last_error, 0) + 1
    try:
        connection.close()
    except Exception:  # noqa: BLE001, S110  (closing a broken connection must not lose the results)
        pass
    # One UPDATE per distinct outcome, not bulk_update: its CASE per row and field cost ~1.5 s per
    # 200 rows on PostgreSQL (bench/policy_notices.py). A batch has one or a few outcomes.
    groups: dict[tuple, list[int]] = {}
    for d in batch:
        key = (d.status, d.attempts, d.last_error, d.next_attempt_at, d.sent_at)
        groups.setdefault(key, []).append(d.pk)
    for (status, attempts, last_error, next_attempt_at, sent_at), ids in groups.items():
        PolicyNoticeDelivery.objects.filter(pk__in=ids).update(
            status=status,
            attempts=attempts,
            last_error=last_error,
            next_attempt_at=next_attempt_at,
            sent_at=sent_at,
            claim_token=None,
        )


def send_policy_notices(*, batch_size: int | None = None, max_batches: int | None = None) -> NoticeRun:
    """Queue the notices of newly announced versions, then send due deliveries (pending, and
    failed ones whose backoff has passed) in batches over one mail connection per batch."""
    batch_size = batch_size or settings.POLICY_NOTICE_BATCH_SIZE
    run = NoticeRun()
    for version in PolicyVersion.objects.announced().filter(notices_queued_at__isnull=True):
        run.queued += queue_policy_notices(version=version, batch_size=batch_size)
    while max_batches is None or run.batches < max_batches:
        batch = _claim_batch(batch_size=batch_size, now=timezone.now())
        if not batch:
            break
        _send_batch(batch, run)
        run.batches += 1
    logger.info(
        "policy notices: %d queued, %d sent, %d failed, %d bounced in %d batches",
        run.queued,
        run.sent,
        run.failed,
        run.bounced,
        run.batches,
    )
    return run


def count_due_notices() -> dict[str, int]:
    """What `send_policy_notices` would do now (for --dry-run)."""
    unqueued = PolicyVersion.objects.announced().filter(notices_queued_at__isnull=True).count()
    return {
        "versions_to_queue": unqueued,
        "subjects_with_email": DataSubject.objects.filter(email__isnull=False).count() if unqueued else 0,
        "due": PolicyNoticeDelivery.objects.due(timezone.now(), settings.POLICY_NOTICE_MAX_ATTEMPTS).count(),
    }


def retry_policy_notices(*, delivery_ids: list[int], actor) -> int:
    """Make failed deliveries due now, with a fresh set of attempts (staff fixed the cause)."""
    require_permission(actor, NOTICE_PERMISSION, error=NotAllowed)
    return PolicyNoticeDelivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.FAILED).update(
        attempts=0, next_attempt_at=timezone.now(), claim_token=None
    )


def mark_notices_bounced(*, delivery_ids: list[int], actor) -> int:
    """Record bounces reported after sending (a bounce email or the mail provider's report)."""
    require_permission(actor, NOTICE_PERMISSION, error=NotAllowed)
    return PolicyNoticeDelivery.objects.filter(
        pk__in=delivery_ids, status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.PENDING]
    ).update(status=DeliveryStatus.BOUNCED, next_attempt_at=None, claim_token=None)


def notice_progress(version: PolicyVersion) -> dict[str, int]:
    counts = version.deliveries.aggregate(
        total=Count("pk"),
        sent=Count("pk", filter=Q(status=DeliveryStatus.SENT)),
        pending=Count("pk", filter=Q(status=DeliveryStatus.PENDING)),
        failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
        bounced=Count("pk", filter=Q(status=DeliveryStatus.BOUNCED)),
    )
    return counts
