"""Every write to consent, and the questions other apps ask of it.

Rules that other apps rely on:

- `may_process(subject, purpose)`: a person whose processing is restricted (PIPA art. 37) is
  processed only for purposes marked `continues_when_restricted` (seeded: security, a legal
  obligation), whatever they consented to. Otherwise a purpose that needs no consent may be
  processed, and one that needs consent only while the current answer is a grant; for a
  marketing purpose the grant must also not be past its 2-year re-confirmation anniversary.
- Re-confirmation (Network Act art. 50(8), Decree art. 62-3) is the company's notice to the
  person, sent before each 2-year anniversary; the consent stays unless the person withdraws.
  A consent whose anniversary passed without that notice stops counting until the person
  consents again.
- Night-time (21:00-08:00 Seoul): SMS, push and messenger ads need the separate night-time
  consent; email is exempt (Decree art. 61(2)).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import ip_address, ip_network
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from privacyops.lib.hooks import current_policy_version, marketing_consent_ended
from privacyops.lib.urls import absolute_url
from subjects.models import DataSubject

from . import banner, purposes
from .models import (
    MARKETING,
    ConsentAction,
    ConsentChannel,
    ConsentEvent,
    ConsentState,
    CookieChoice,
    CookieConsentRecord,
    MarketingNotice,
    MarketingSuppression,
    NoticeKind,
    Purpose,
    PurposeSuspension,
    RefusedOrigin,
    SendChannel,
)

logger = logging.getLogger(__name__)

SEOUL = ZoneInfo("Asia/Seoul")
NIGHT_STARTS_HOUR, NIGHT_ENDS_HOUR = 21, 8
PREFERENCE_LINK_SALT = "consent.preferences"
# The one-click opt-out in marketing mail: never expires, and can do nothing but opt out.
OPT_OUT_LINK_SALT = "consent.opt_out"
# How old a banner the cookie-choice endpoint may take from this process's memory (banner.current).
BANNER_MAX_AGE_SECONDS = 10
# An unchanged cookie answer within this many days of the last record is not recorded again.
REPEATED_COOKIE_CHOICE_DAYS = 30


class ConsentError(Exception):
    """A consent rule refused the request; the message is safe to show."""


class UnknownPurpose(ConsentError):
    pass


class LinkExpired(ConsentError):
    pass


class LinkInvalid(ConsentError):
    pass


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, month=2, day=28)


def is_night(at: datetime) -> bool:
    hour = at.astimezone(SEOUL).hour
    return hour >= NIGHT_STARTS_HOUR or hour < NIGHT_ENDS_HOUR


def get_purpose(key: str) -> Purpose:
    purpose = purposes.by_key(key)
    if purpose is None:
        raise UnknownPurpose(f"There is no purpose {key!r}.")
    return purpose


def address_hashes(email: str) -> list[str]:
    """The keyed hashes of an address under SECRET_KEY and its fallbacks (so a key rotation keeps
    the list); the first is the current one."""
    from django.utils.crypto import salted_hmac

    address = (email or "").strip().lower()
    if not address:
        return []
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [
        salted_hmac("consent.marketing_suppression", address, secret=secret, algorithm="sha256").hexdigest()
        for secret in secrets
    ]


def is_suppressed(email: str) -> bool:
    """Did this address withdraw or refuse marketing (even as a person since erased)?"""
    hashes = address_hashes(email)
    return bool(hashes) and MarketingSuppression.objects.filter(address_hash__in=hashes).exists()


def _check_channel(channel: str) -> None:
    if channel not in ConsentChannel.values:
        raise ConsentError(f"Unknown consent channel {channel!r}.")


def _record(
    *,
    subject: DataSubject,
    purpose: Purpose,
    action: str,
    channel: str,
    notice_text: str = "",
    ip: str | None = None,
    user_agent: str = "",
    night_time: bool = False,
    gpc: bool = False,
    at: datetime | None,
    only_if=None,
) -> ConsentEvent | None:
    """Append one event and move the state to it, in one transaction.

    The subject's row is locked first so concurrent answers of one person are serialised (the
    state's unique key alone would let two first answers race). `only_if(state)` decides,
    under the lock, whether there is anything to record. An answer the caller does not date
    (`at` None) is dated under the lock, so one that waited for another answer of the same
    person comes after it instead of being refused as dated before it; only a stated time
    earlier than the answer recorded is refused.
    """
    with transaction.atomic():
        _lock_subject(subject.pk)
        state = ConsentState.objects.filter(subject=subject, purpose=purpose).first()
        if only_if is not None and not only_if(state):
            return None
        if at is None:
            # Another server's clock may run ahead of this one: the lock's order is the answers' order.
            at = max(timezone.now(), state.changed_at) if state is not None else timezone.now()
        if action == ConsentAction.GRANTED:
            action = _grant_action(state, night_time=bool(night_time and purpose.is_marketing), at=at)
            if action is None:
                return None
        if state is not None and at < state.changed_at:
            raise ConsentError("A consent event cannot be dated before the answer currently recorded.")
        granted = action in (ConsentAction.GRANTED, ConsentAction.RECONFIRMED)
        night_time = bool(night_time and granted and purpose.is_marketing)
        event = ConsentEvent.objects.create(
            subject=subject,
            purpose=purpose,
            action=action,
            channel=channel,
            policy_version=current_policy_version()[:50],
            notice_sha256=ConsentEvent.hash_notice(notice_text),
            ip=ip or None,
            user_agent=(user_agent or "")[:512],
            night_time=night_time,
            gpc=gpc,
            occurred_at=at,
            # A "no" keeps nothing alive: its proof period starts at once.
            ended_at=None if granted else at,
        )
        # The answer the earlier events recorded stopped being current now. Only a standing "yes"
        # leaves an event open (a "no" is ended as it is recorded, and every event ends the ones
        # before it), so after anything else there is none to end.
        if state is not None and state.granted:
            ConsentEvent.objects.filter(subject=subject, purpose=purpose).exclude(pk=event.pk)._stamp_ended(at)
        values = {
            "granted": granted,
            "action": action,
            "channel": channel,
            "night_time": night_time,
            "changed_at": at,
            "confirmed_at": at if granted else None,
            "reconfirm_due_at": add_years(at, settings.CONSENT_RECONFIRM_YEARS)
            if granted and purpose.is_marketing
            else None,
            "reconfirmation_sent_at": None,
            "ended_at": None if granted else at,
        }
        # `state` was read under the subject's lock: an UPDATE by id (or the first INSERT) is all
        # that update_or_create's savepoint, second SELECT ... FOR UPDATE and full-row save did.
        if state is None:
            ConsentState.objects.create(subject=subject, purpose=purpose, **values)
        else:
            ConsentState.objects.filter(pk=state.pk).update(**values)
        hashes = address_hashes(subject.email) if purpose.is_marketing else []
        if hashes and not granted:
            MarketingSuppression.objects.update_or_create(address_hash=hashes[0], defaults={"last_refused_at": at})
        elif hashes and channel not in (ConsentChannel.IMPORT, ConsentChannel.PROCESSOR_WEBHOOK):
            # The person's own new consent lifts the suppression.
            MarketingSuppression.objects.filter(address_hash__in=hashes).delete()
        if purpose.is_marketing:
            from .tasks import send_result_notice

            send_result_notice.delay_on_commit(event.pk)
            if not granted:
                # The vendors must stop too (thirdparty queues their suppression jobs).
                marketing_consent_ended(subject_id=subject.pk, purpose=purpose.key, channel=channel, event_id=event.pk)
    logger.info("consent %s: subject=%s purpose=%s event=%s", action, subject.pk, purpose.key, event.pk)
    return event


def _lock_subject(pk: int) -> None:
    """Lock a subject's row until the transaction ends (where the database has row locks; SQLite
    writes one transaction at a time). Written by hand: through the ORM, compiling this one
    statement cost a tenth of a consent write's CPU. The state is read by the next statement, not
    joined to this one: a statement that waited for the lock sees the rows of the snapshot it
    started with, so a joined read would miss the state the first answer committed (tried: the
    concurrent-answer tests fail on the state's unique key)."""
    if connection.features.has_select_for_update:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {DataSubject._meta.db_table} WHERE id = %s FOR UPDATE", [pk])  # noqa: S608


def _grant_action(state: ConsentState | None, *, night_time: bool, at: datetime) -> str | None:
    """What a grant is, decided under the lock: None when the same consent stands and is more than
    CONSENT_RECONFIRM_NOTICE_DAYS from its anniversary (nothing changes: no row, no notice), a
    re-confirmation within those days (it restarts the clock), otherwise a grant."""
    if state is None or not state.granted or state.night_time != night_time:
        return ConsentAction.GRANTED
    due = state.reconfirm_due_at
    if due is not None and due <= at:  # lapsed: consenting again
        return ConsentAction.GRANTED
    if due is None or due - at > timedelta(days=settings.CONSENT_RECONFIRM_NOTICE_DAYS):
        return None
    return ConsentAction.RECONFIRMED


def _consent_purpose(purpose: str, channel: str) -> Purpose:
    """The purpose a grant, refusal or withdrawal is about, refusing a bad channel or a purpose
    that does not rely on consent."""
    _check_channel(channel)
    target = get_purpose(purpose)
    if not target.consent_required:
        raise ConsentError(f"The purpose {purpose!r} does not rely on consent.")
    return target


def grant_consent(
    *,
    subject: DataSubject,
    purpose: str,
    channel: str,
    notice_text: str = "",
    ip: str | None = None,
    user_agent: str = "",
    night_time: bool = False,
    at: datetime | None = None,
    gpc: bool = False,
) -> ConsentEvent | None:
    """Record a consent; None when the same consent already stands (see `_grant_action`). Granting
    again within 30 days of the 2-year anniversary re-confirms it and restarts the clock."""
    if channel == ConsentChannel.GPC_SIGNAL:
        raise ConsentError("A Global Privacy Control signal can only withdraw consent.")
    target = _consent_purpose(purpose, channel)
    if target.is_marketing and channel == ConsentChannel.IMPORT and is_suppressed(subject.email):
        raise ConsentError(
            "This address withdrew or refused marketing before; an import cannot consent for it. "
            "Only the person can consent again."
        )
    return _record(
        subject=subject,
        purpose=target,
        action=ConsentAction.GRANTED,
        channel=channel,
        notice_text=notice_text,
        ip=ip,
        user_agent=user_agent,
        night_time=night_time,
        gpc=gpc,
        at=at,
    )


def withdraw_consent(
    *,
    subject: DataSubject,
    purpose: str,
    channel: str,
    ip: str | None = None,
    user_agent: str = "",
    at: datetime | None = None,
    gpc: bool = False,
) -> ConsentEvent | None:
    """Withdraw a consent; None when there was none to withdraw. Effective immediately."""
    target = _consent_purpose(purpose, channel)
    return _record(
        subject=subject,
        purpose=target,
        action=ConsentAction.WITHDRAWN,
        channel=channel,
        ip=ip,
        user_agent=user_agent,
        gpc=gpc or channel == ConsentChannel.GPC_SIGNAL,
        at=at,
        only_if=lambda state: state is not None and state.granted,
    )


def refuse_consent(
    *,
    subject: DataSubject,
    purpose: str,
    channel: str,
    notice_text: str = "",
    ip: str | None = None,
    user_agent: str = "",
    at: datetime | None = None,
) -> ConsentEvent | None:
    """Record a "no" to a consent request (an unticked box). A "no" while consent is held is a
    withdrawal; a repeated "no" records nothing (None)."""
    target = _consent_purpose(purpose, channel)
    state = ConsentState.objects.filter(subject=subject, purpose=target).first()
    if state is not None and state.granted:
        return withdraw_consent(subject=subject, purpose=purpose, channel=channel, ip=ip, user_agent=user_agent, at=at)
    return _record(
        subject=subject,
        purpose=target,
        action=ConsentAction.REFUSED,
        channel=channel,
        notice_text=notice_text,
        ip=ip,
        user_agent=user_agent,
        at=at,
        only_if=lambda state: state is None,
    )


def withdraw_all_consents(*, subject: DataSubject, channel: str, at: datetime | None = None) -> list[ConsentEvent]:
    """Withdraw every consent the person holds (a DSAR withdrawal, an erasure)."""
    _check_channel(channel)
    events = []
    with transaction.atomic():
        keys = ConsentState.objects.filter(subject=subject, granted=True).values_list("purpose__key", flat=True)
        for key in list(keys):
            event = withdraw_consent(subject=subject, purpose=key, channel=channel, at=at)
            if event is not None:
                events.append(event)
    return events


def suspend_purposes(
    *, subject: DataSubject, purposes: list[str], channel: str, reference: str = "", at: datetime | None = None
) -> list[str]:
    """PIPA art. 37(1) (DSAR-06): stop processing the person's data for these purposes only. A
    consent held for one of them is withdrawn through the ledger as well. Returns the keys
    suspended now (already suspended ones are left as they are)."""
    _check_channel(channel)
    suspended_at = _now(at)
    suspended = []
    with transaction.atomic():
        for key in purposes:
            purpose = get_purpose(key)
            _row, created = PurposeSuspension.objects.get_or_create(
                subject=subject,
                purpose=purpose,
                lifted_at=None,
                defaults={"suspended_at": suspended_at, "reference": reference},
            )
            if purpose.consent_required:
                withdraw_consent(subject=subject, purpose=key, channel=channel, at=at)
            if created:
                suspended.append(key)
    return suspended


def lift_purpose_suspensions(
    *, subject: DataSubject, purposes: list[str], reference: str = "", at: datetime | None = None
) -> list[str]:
    """End the suspensions in force for these purposes (the person asked, or the ground ended):
    `may_process` follows the purpose's legal basis again. A consent withdrawn by the suspension
    stays withdrawn; only the person can give it again. Returns the keys lifted now."""
    at = _now(at)
    rows = PurposeSuspension.objects.filter(subject=subject, purpose__key__in=purposes, lifted_at__isnull=True)
    if reference:
        rows = rows.filter(reference=reference)
    keys = sorted(rows.values_list("purpose__key", flat=True))
    rows.update(lifted_at=at)
    return keys


def honour_gpc_signal(
    *, subject: DataSubject, ip: str | None = None, user_agent: str = "", at: datetime | None = None
) -> list[ConsentEvent]:
    """A Global Privacy Control signal from an identified person's browser: withdraw the purposes
    it opts out of (sharing, targeted ads). A consent the person gave explicitly from a browser
    that was already sending the signal wins over it, so it is kept."""
    events = []
    states = ConsentState.objects.filter(subject=subject, granted=True, purpose__stops_on_gpc=True)
    for state in states.select_related("purpose"):
        latest = (
            ConsentEvent.objects.filter(
                subject=subject,
                purpose=state.purpose,
                action__in=[ConsentAction.GRANTED, ConsentAction.RECONFIRMED],
            )
            .order_by("-occurred_at", "-pk")
            .values_list("gpc", flat=True)
            .first()
        )
        if latest:
            continue
        event = withdraw_consent(
            subject=subject,
            purpose=state.purpose.key,
            channel=ConsentChannel.GPC_SIGNAL,
            ip=ip,
            user_agent=user_agent,
            at=at,
        )
        if event is not None:
            events.append(event)
    return events


# --- questions -------------------------------------------------------------------------------
def may_process(*, subject: DataSubject, purpose: str, at: datetime | None = None) -> bool:
    """May the person's data be processed for `purpose` now? Reads the database every time, so a
    withdrawal or restriction counts from the moment it is committed (see the module docstring)."""
    at = _now(at)
    target = get_purpose(purpose)
    subject_id = subject if isinstance(subject, int) else subject.pk
    restricted = DataSubject.objects.filter(pk=subject_id).values_list("processing_restricted", flat=True).first()
    if restricted is None:
        return False
    if restricted:
        return target.continues_when_restricted
    if PurposeSuspension.objects.filter(subject_id=subject_id, purpose=target, lifted_at__isnull=True).exists():
        return False
    if not target.consent_required:
        return True
    held = list(
        ConsentState.objects.filter(subject_id=subject_id, purpose=target, granted=True).values_list(
            "reconfirm_due_at", flat=True
        )[:1]
    )
    if not held:
        return False
    if target.is_marketing:
        return held[0] is not None and held[0] > at
    return True


def marketing_audience(*, channel: str, at: datetime | None = None) -> QuerySet[DataSubject]:
    """The people who may receive an ad on `channel` at `at`, as one query (no Python loop).

    Consented to marketing, not withdrawn, anniversary not passed without re-confirmation, not
    restricted, reachable on the channel; between 21:00 and 08:00 Seoul time SMS, push and
    messenger also need the night-time consent. Callers should check again at send time (CM-03):
    the queryset is evaluated when iterated.
    """
    if channel not in SendChannel.values:
        raise ConsentError(f"Unknown marketing channel {channel!r} (use one of {', '.join(SendChannel.values)}).")
    at = _now(at)
    # The purpose as a scalar subquery, not a join: with a join PostgreSQL cannot tell that a
    # subject matches at most once, de-duplicates 400,000 ids and probes the subjects one by one
    # (8 s on a million subjects); with the id known it picks a hash semi-join (under 1 s) or,
    # for the first page by id, a merge join that stops after the page (a few ms).
    marketing = Subquery(Purpose.objects.filter(key=MARKETING).order_by().values("pk")[:1])
    consented = ConsentState.objects.filter(
        purpose_id=marketing, granted=True, reconfirm_due_at__gt=at, subject=OuterRef("pk")
    )
    if channel != SendChannel.EMAIL and is_night(at):
        consented = consented.filter(night_time=True)
    audience = DataSubject.objects.filter(Exists(consented), processing_restricted=False)
    if channel == SendChannel.EMAIL:
        audience = audience.filter(email__isnull=False)
    elif channel == SendChannel.SMS:
        audience = audience.exclude(phone="")
    return audience


def preference_link(subject: DataSubject) -> str:
    """An absolute, signed, expiring link to the person's preference page, for any email."""
    token = signing.dumps({"s": subject.pk}, salt=PREFERENCE_LINK_SALT, compress=True)
    return absolute_url(reverse("consent:preferences", args=[token]))


def subject_from_token(token: str) -> DataSubject:
    """The subject a preference link was made for. Raises LinkExpired or LinkInvalid."""
    max_age = timedelta(days=settings.CONSENT_PREFERENCE_LINK_MAX_AGE_DAYS)
    try:
        data = signing.loads(token, salt=PREFERENCE_LINK_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkExpired("This link has expired. Use the link in a more recent email.") from None
    except signing.BadSignature:
        raise LinkInvalid("This link is not valid.") from None
    subject = DataSubject.objects.filter(pk=data.get("s") if isinstance(data, dict) else None).first()
    if subject is None:
        raise LinkInvalid("This link is not valid.")
    return subject


def opt_out_link(subject: DataSubject, purpose: str = MARKETING) -> str:
    """An absolute, signed link that withdraws one marketing consent in one click. It never expires
    (a withdrawal must stay as easy as the consent was, Network Act art. 50(4)) and grants nothing."""
    token = signing.dumps({"s": subject.pk, "p": purpose}, salt=OPT_OUT_LINK_SALT, compress=True)
    return absolute_url(reverse("consent:opt_out", args=[token]))


def opt_out_from_token(token: str) -> tuple[DataSubject, Purpose]:
    """The subject and marketing purpose of an opt-out link (no expiry). Raises LinkInvalid."""
    try:
        data = signing.loads(token, salt=OPT_OUT_LINK_SALT)
    except signing.BadSignature:
        raise LinkInvalid("This link is not valid.") from None
    data = data if isinstance(data, dict) else {}
    subject = DataSubject.objects.filter(pk=data.get("s")).first()
    purpose = Purpose.objects.filter(key=data.get("p") or "", consent_required=True).first()
    if subject is None or purpose is None or not purpose.is_marketing:
        raise LinkInvalid("This link is not valid.")
    return subject, purpose


# --- marketing notices -----------------------------------------------------------------------
def _send_after_commit(subject: DataSubject, template: str, context: dict, *, forget: Callable[[], None]) -> None:
    """Render the notice now and send it once the caller's transaction commits: a rollback sends
    nothing, and a slow mail server holds no row lock. When the server refuses it, `forget` removes
    the record that it went out (so the sweep or the next run sends it again) and the error is
    raised (so a task retries)."""
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "sender": settings.MARKETING_SENDER_NAME,
            "link": preference_link(subject),
            "opt_out_link": opt_out_link(subject),
            **context,
        }
        title = render_to_string(f"consent/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"consent/email/{template}.txt", context)
    recipient = subject.email

    def deliver() -> None:
        try:
            send_mail(title, body, settings.DEFAULT_FROM_EMAIL, [recipient])
        except Exception:
            logger.warning("marketing notice not delivered: subject=%s notice=%s", subject.pk, template)
            forget()
            raise

    transaction.on_commit(deliver)


def send_result_notice(*, event_id: int, at: datetime | None = None) -> MarketingNotice | None:
    """CM-04: tell the person the result of a marketing consent, refusal or withdrawal. Sent once
    per event (a unique constraint decides between the on-commit task and the sweep)."""
    event = ConsentEvent.objects.select_related("subject", "purpose").filter(pk=event_id).first()
    if event is None or not event.purpose.is_marketing:
        return None
    if not event.subject.email:
        logger.info("result notice skipped: subject=%s event=%s has no email", event.subject_id, event.pk)
        return None
    try:
        with transaction.atomic():
            notice = MarketingNotice.objects.create(
                subject=event.subject, kind=NoticeKind.RESULT, event=event, purpose=event.purpose, sent_at=_now(at)
            )
            # Sent after commit: if the mail server refuses, the record goes again and the sweep
            # tries again.
            _send_after_commit(
                event.subject,
                "result_notice",
                {"event": event, "purpose": event.purpose},
                forget=lambda: MarketingNotice.objects.filter(pk=notice.pk).delete(),
            )
    except IntegrityError:
        return None
    logger.info("result notice sent: subject=%s event=%s", event.subject_id, event.pk)
    return notice


@dataclass
class SweepResult:
    sent: int
    overdue: int


def send_result_notices(*, at: datetime | None = None) -> SweepResult:
    """Send every result notice still owed for marketing events of the last 14 days; count the
    older ones that never got one (overdue: staff should look into them)."""
    at = _now(at)
    since = at - timedelta(days=settings.CONSENT_RESULT_NOTICE_DAYS)
    owed = (
        ConsentEvent.objects.for_marketing()
        .filter(~Exists(MarketingNotice.objects.filter(event=OuterRef("pk"), kind=NoticeKind.RESULT)))
        .exclude(channel=ConsentChannel.IMPORT)
        .filter(subject__email__isnull=False)
    )
    sent = 0
    for event_id in owed.filter(occurred_at__gte=since).order_by("pk").values_list("pk", flat=True).iterator():
        sent += send_result_notice(event_id=event_id, at=at) is not None
    overdue = owed.filter(occurred_at__lt=since).count()
    if overdue:
        logger.warning("result notices overdue: %d marketing events older than 14 days have none", overdue)
    return SweepResult(sent=sent, overdue=overdue)


def _forget_reconfirmation(*, notice_id: int, state_id: int, sent: tuple, before: tuple) -> None:
    """A re-confirmation the mail server refused: its record goes and the anniversary moves back,
    so the next run sends it again (unless the state changed meanwhile)."""
    with transaction.atomic():
        MarketingNotice.objects.filter(pk=notice_id).delete()
        ConsentState.objects.filter(pk=state_id, reconfirmation_sent_at=sent[0], reconfirm_due_at=sent[1]).update(
            reconfirmation_sent_at=before[0], reconfirm_due_at=before[1]
        )


@dataclass
class ReconfirmResult:
    due: int
    sent: int
    no_email: int
    lapsed: int


def reconfirm_marketing_consent(*, at: datetime | None = None, dry_run: bool = False) -> ReconfirmResult:
    """CM-05: email a re-confirmation to every marketing consent whose 2-year anniversary is within
    30 days, record it, and move its anniversary 2 years on. Consents whose anniversary passed
    without a notice (no email address, the job was off) are counted as lapsed; they no longer
    count in may_process or marketing_audience."""
    at = _now(at)
    window_end = at + timedelta(days=settings.CONSENT_RECONFIRM_NOTICE_DAYS)
    granted = ConsentState.objects.filter(purpose__is_marketing=True, granted=True)
    due = granted.filter(reconfirm_due_at__gt=at, reconfirm_due_at__lte=window_end)
    result = ReconfirmResult(
        due=due.count(),
        sent=0,
        no_email=due.filter(subject__email__isnull=True).count(),
        lapsed=granted.filter(reconfirm_due_at__lte=at).count(),
    )
    if dry_run:
        return result
    for state_id in due.filter(subject__email__isnull=False).order_by("pk").values_list("pk", flat=True).iterator():
        with transaction.atomic():
            state = (
                ConsentState.objects.select_for_update()
                .select_related("subject", "purpose")
                .filter(pk=state_id, granted=True, reconfirm_due_at__gt=at, reconfirm_due_at__lte=window_end)
                .first()
            )
            if state is None:  # withdrawn or already notified since the list was read
                continue
            anniversary = state.reconfirm_due_at
            notice = MarketingNotice.objects.create(
                subject=state.subject,
                kind=NoticeKind.RECONFIRMATION,
                purpose=state.purpose,
                anniversary_at=anniversary,
                sent_at=at,
            )
            next_anniversary = add_years(anniversary, settings.CONSENT_RECONFIRM_YEARS)
            _send_after_commit(
                state.subject,
                "reconfirmation",
                {"state": state, "anniversary": anniversary},
                forget=functools.partial(
                    _forget_reconfirmation,
                    notice_id=notice.pk,
                    state_id=state.pk,
                    sent=(at, next_anniversary),
                    before=(state.reconfirmation_sent_at, anniversary),
                ),
            )
            state.reconfirmation_sent_at = at
            state.reconfirm_due_at = next_anniversary
            state.save(update_fields=["reconfirmation_sent_at", "reconfirm_due_at"])
            result.sent += 1
    logger.info(
        "reconfirm_marketing_consent: due=%d sent=%d no_email=%d lapsed=%d",
        result.due,
        result.sent,
        result.no_email,
        result.lapsed,
    )
    return result


# --- cookie banner ---------------------------------------------------------------------------
def truncate_ip(ip: str | None) -> str | None:
    """IPv4 to its /24, IPv6 to its /48: enough for abuse analysis, not the visitor's address."""
    if not ip:
        return None
    try:
        address = ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ip_network(f"{address}/{prefix}", strict=False).network_address)


def record_cookie_choice(
    *,
    visitor_id: str,
    banner_version: str,
    language: str,
    choice: str,
    categories: dict[str, bool],
    gpc: bool,
    ip: str | None = None,
    user_agent: str = "",
    chosen_at: datetime | None = None,
    at: datetime | None = None,
) -> tuple[CookieConsentRecord, bool]:
    """Record a banner choice; returns the record and whether it is new. The allowed categories
    are decided here, not trusted from the browser: "allow all" under Global Privacy Control
    leaves the GPC categories off; a box the visitor ticked one by one ("choose") wins over the
    signal. The banner posts a choice again until it is accepted (a refused origin, a lost
    answer), so a visitor id and chosen_at already recorded return that record, not a second; so
    does the same answer again within REPEATED_COOKIE_CHOICE_DAYS."""
    if chosen_at is not None:
        earlier = CookieConsentRecord.objects.filter(visitor_id=visitor_id, chosen_at=chosen_at).first()
        if earlier is not None:
            return earlier, False
    if choice not in CookieChoice.values:
        raise ConsentError(f"Unknown choice {choice!r}.")
    if language not in banner.LANGUAGES:
        raise ConsentError(f"Unknown language {language!r}.")
    shown = banner.current(max_age=BANNER_MAX_AGE_SECONDS)
    if banner_version != shown.version:
        shown = banner.current()  # perhaps edited since this process last read it
    if banner_version != shown.version:
        raise ConsentError("The banner has changed since this page was loaded; reload the page and choose again.")
    known = {c.key: c for c in shown.categories}
    unknown = sorted(set(categories) - set(known))
    if unknown:
        raise ConsentError(f"Unknown cookie categories: {', '.join(unknown)}.")
    allowed = {key for key, c in known.items() if c.always_on}
    optional = {key: c for key, c in known.items() if not c.always_on}
    if choice == CookieChoice.ALLOW_ALL:
        allowed |= {key for key, c in optional.items() if not (gpc and c.off_under_gpc)}
    elif choice == CookieChoice.CUSTOM:
        allowed |= {key for key, value in categories.items() if value and key in optional}
    gpc_honoured = gpc and any(c.off_under_gpc and key not in allowed for key, c in optional.items())
    allowed = sorted(allowed, key=lambda key: known[key].position)
    # The same answer again within REPEATED_COOKIE_CHOICE_DAYS (the banner reopened and saved
    # unchanged) changes nothing: the standing record is the answer, no second row.
    latest = CookieConsentRecord.objects.filter(visitor_id=visitor_id).order_by("-created_at", "-pk").first()
    if (
        latest is not None
        and (latest.banner_version, latest.language, latest.categories, latest.gpc_honoured)
        == (banner_version, language, allowed, gpc_honoured)
        and latest.created_at > _now(at) - timedelta(days=REPEATED_COOKIE_CHOICE_DAYS)
    ):
        return latest, False
    record = CookieConsentRecord.objects.create(
        visitor_id=visitor_id,
        banner_version=banner_version,
        language=language,
        choice=choice,
        categories=allowed,
        gpc=gpc,
        gpc_honoured=gpc_honoured,
        notice_sha256=shown.notice_sha256[language],
        ip_truncated=truncate_ip(ip),
        user_agent=(user_agent or "")[:512],
        chosen_at=chosen_at,
        created_at=_now(at),
    )
    return record, True


# What a browser sends as Origin (scheme://host[:port], or "null" from a file or a sandboxed
# frame). Anything else is not counted: the header is free text from whoever sends the request.
_ORIGIN = re.compile(
    r"null|[a-z][a-z0-9+.-]{0,31}://[a-z0-9.\-]{1,200}(:[0-9]{1,5})?|[a-z]+://\[[0-9a-f:.]{2,45}\](:[0-9]{1,5})?"
)
# The officer's desk lists the origins refused in this many days.
REFUSED_ORIGIN_DESK_DAYS = 30


def count_refused_origin(*, origin: str, at: datetime | None = None) -> bool:
    """Count one cookie choice (or its CORS preflight) refused because the website's origin is
    not in CONSENT_ALLOWED_ORIGINS. An atomic increment of one row per origin, so concurrent
    refusals are all counted; the first refusal of an origin is also logged. Returns whether
    it was counted (a malformed origin is not)."""
    if not _ORIGIN.fullmatch(origin):
        return False
    now = _now(at)
    # The row exists after the first refusal, so this one UPDATE is the whole cost from then on.
    if RefusedOrigin.objects.filter(origin=origin).update(refused=F("refused") + 1, last_seen_at=now):
        return True
    try:
        with transaction.atomic():
            RefusedOrigin.objects.create(origin=origin, refused=1, first_seen_at=now, last_seen_at=now)
    except IntegrityError:  # another process created the row between the UPDATE and the INSERT
        RefusedOrigin.objects.filter(origin=origin).update(refused=F("refused") + 1, last_seen_at=now)
    else:
        logger.warning(
            "cookie choices refused from %s: the origin is not in CONSENT_ALLOWED_ORIGINS, so no consent "
            "record is kept for them (counted on the officer's desk)",
            origin,
        )
    return True


def refused_origins(*, at: datetime | None = None, days: int = REFUSED_ORIGIN_DESK_DAYS) -> list[dict]:
    """The origins whose cookie choices were refused in the last `days`, newest first, each
    with its count since it was first refused and whether the setting allows it now."""
    since = _now(at) - timedelta(days=days)
    allowed = set(settings.CONSENT_ALLOWED_ORIGINS)
    return [
        {
            "origin": row.origin,
            "refused": row.refused,
            "first_seen_at": row.first_seen_at,
            "last_seen_at": row.last_seen_at,
            "allowed_now": row.origin in allowed,
        }
        for row in RefusedOrigin.objects.seen_since(since)[:20]
    ]


def purge_cookie_consent_records(*, at: datetime | None = None, dry_run: bool = False, batch_rows: int = 10_000) -> int:
    """Delete banner records older than the cookie's life plus the proof period, in primary-key
    range batches (ids follow created_at: the table is append-only). Returns how many (would) go."""
    at = _now(at)
    cutoff = at - timedelta(days=settings.CONSENT_COOKIE_MAX_AGE_DAYS + settings.CONSENT_PROOF_PERIOD_DAYS)
    expired = CookieConsentRecord.objects.filter(created_at__lt=cutoff)
    if dry_run:
        return expired.count()
    bounds = expired.order_by("pk").values_list("pk", flat=True)
    first, last = bounds.first(), expired.order_by("-pk").values_list("pk", flat=True).first()
    if first is None:
        return 0
    deleted = 0
    for start in range(first, last + 1, batch_rows):
        count, _ = expired.filter(pk__gte=start, pk__lt=start + batch_rows)._purge()
        deleted += count
    logger.info("purge_cookie_consent_records: deleted=%d", deleted)
    return deleted


# --- reports -----------------------------------------------------------------------------------
# Each code beside the words a person reads (the purpose as the policy names it, the action and
# channel in the language of the request): codes for machines, words for the person or auditor.
RECEIPT_COLUMNS = [
    "occurred_at_seoul",
    "purpose",
    "purpose_name",
    "purpose_name_ko",
    "policy_clause",
    "action",
    "action_label",
    "channel",
    "channel_label",
    "policy_version",
    "notice_sha256",
    "night_time",
    "gpc",
    "ip",
    "user_agent",
]


def consent_receipt_csv(subject: DataSubject) -> str:
    """A person's whole consent history as CSV: the receipt given to them or to an auditor."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(RECEIPT_COLUMNS)
    events = (
        ConsentEvent.objects.filter(subject=subject).select_related("purpose").order_by("occurred_at", "pk").iterator()
    )
    for event in events:
        writer.writerow(
            [
                event.occurred_at.astimezone(SEOUL).isoformat(timespec="seconds"),
                event.purpose.key,
                event.purpose.name,
                event.purpose.name_ko,
                event.purpose.policy_clause,
                event.action,
                event.get_action_display(),
                event.channel,
                event.get_channel_display(),
                event.policy_version,
                event.notice_sha256,
                "yes" if event.night_time else "no",
                "yes" if event.gpc else "no",
                event.ip or "",
                event.user_agent,
            ]
        )
    return out.getvalue()


def consent_rates(*, months: int = 12, at: datetime | None = None) -> list[dict]:
    """Per purpose needing consent: events per month (Seoul) by action, and today's share of
    subjects holding the consent. Two grouped queries, whatever the ledger's size."""
    from django.db.models import Count
    from django.db.models.functions import TruncMonth

    at = _now(at)
    local = at.astimezone(SEOUL)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    month_keys = []
    cursor = first
    while cursor <= local:
        month_keys.append(cursor.strftime("%Y-%m"))
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    counts: dict[tuple[str, str, str], int] = {}
    rows = (
        ConsentEvent.objects.filter(occurred_at__gte=first)
        .annotate(month=TruncMonth("occurred_at", tzinfo=SEOUL))
        .values("purpose__key", "month", "action")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[(row["purpose__key"], row["month"].astimezone(SEOUL).strftime("%Y-%m"), row["action"])] = row["n"]
    held = dict(
        ConsentState.objects.filter(granted=True).values_list("purpose__key").annotate(n=Count("id")).order_by()
    )
    subjects = DataSubject.objects.count()
    report = []
    for purpose in Purpose.objects.filter(consent_required=True):
        series = []
        for month in month_keys:
            granted = counts.get((purpose.key, month, ConsentAction.GRANTED), 0)
            withdrawn = counts.get((purpose.key, month, ConsentAction.WITHDRAWN), 0)
            refused = counts.get((purpose.key, month, ConsentAction.REFUSED), 0)
            total = granted + withdrawn + refused
            series.append(
                {
                    "month": month,
                    "granted": granted,
                    "withdrawn": withdrawn,
                    "refused": refused,
                    "grant_percent": round(100 * granted / total) if total else None,
                }
            )
        holding = held.get(purpose.key, 0)
        report.append(
            {
                "purpose": purpose,
                "holding": holding,
                "holding_percent": round(100 * holding / subjects, 1) if subjects else 0,
                "months": series,
                "peak": max([m["granted"] + m["withdrawn"] + m["refused"] for m in series] + [1]),
            }
        )
    return report
