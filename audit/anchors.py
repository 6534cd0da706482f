"""Signed anchors of the access log: the chain's head, kept outside the database.

The chain (HMAC-SHA256 under ACCESS_LOG_CHAIN_KEY) stops anyone without the key from rewriting
rows. An anchor also stops someone with the key, or with a copy of the database from before,
from quietly truncating or re-chaining the log: once a day the head's seq, MAC, time and the row
count are signed with the key, written as a file under ACCESS_LOG_ANCHOR_DIR and emailed to the
privacy officers. `verify_access_log --anchor FILE` then checks the log still holds that row with
that MAC and as many rows up to it as were anchored, less the oldest ones retention purged since.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import roles
from .models import GENESIS_HASH, AccessLog, AccessLogChainHead, AccessLogSubject, keyed_mac

logger = logging.getLogger(__name__)

KIND = "privacyops.access_log_anchor"


class AnchorError(Exception):
    """An anchor that cannot be made or read; the message is safe to show to staff."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    mac: str
    at: str  # the head row's time, ISO 8601 UTC ("" for an empty log)
    count: int
    purged_through_seq: int
    # The oldest row present then: a later purge of rows from it on is right only once it is past its period.
    first_seq: int
    first_at: str
    anchored_at: str
    kind: str = KIND
    version: int = 1
    signature: str = ""

    def message(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if k != "signature"}
        return json.dumps(fields, sort_keys=True, separators=(",", ":"))

    def signed(self) -> Anchor:
        return Anchor(**{**asdict(self), "signature": keyed_mac("anchor|" + self.message())})

    def signature_ok(self) -> bool:
        return bool(self.signature) and keyed_mac("anchor|" + self.message()) == self.signature

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=2) + "\n"

    @property
    def head_time(self) -> datetime | None:
        return datetime.fromisoformat(self.at) if self.at else None

    @property
    def first_time(self) -> datetime | None:
        return datetime.fromisoformat(self.first_at) if self.first_at else None


def read_anchors(path: str | Path) -> list[Anchor]:
    """The anchor in the file `path`, or every anchor in the folder `path`, oldest first."""
    path = Path(path)
    if not path.is_dir():
        return [read_anchor(path)]
    files = sorted(path.glob("access-log-anchor-*.json"))
    if not files:
        raise AnchorError(_("No anchor file in %(dir)s.") % {"dir": path})
    return [read_anchor(file) for file in files]


def read_anchor(path: str | Path) -> Anchor:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        if data.get("kind") != KIND:
            raise ValueError("not an access-log anchor")
        return Anchor(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise AnchorError(_("%(file)s is not a readable access-log anchor: %(error)s") % {"file": path, "error": exc})


def _head_row_ok(head: AccessLogChainHead) -> bool:
    row = AccessLog.objects.filter(seq=head.last_seq).first()
    if row is None:
        return False
    subject_ids = list(AccessLogSubject.objects.filter(log=row).values_list("subject_id", flat=True))
    return row.hash == head.last_hash and row.compute_hash(subject_ids) == row.hash


def anchor_access_log(*, directory: str | Path | None = None, send: bool = True) -> tuple[Anchor, Path]:
    """Sign the access log's head (seq, MAC, time, row count) with the chain key, write it to a
    file under `directory` (default ACCESS_LOG_ANCHOR_DIR) and email it to the privacy officers
    after commit. Refuses when the head row does not verify (an anchor of a forged head is worth
    nothing). Returns the anchor and the file."""
    directory = Path(directory or settings.ACCESS_LOG_ANCHOR_DIR)
    now = timezone.now()
    with transaction.atomic():
        # The head is locked as log_access locks it, so seq, MAC and count are one moment's.
        head = AccessLogChainHead.objects.select_for_update().filter(pk=AccessLogChainHead.SINGLETON).first()
        if head is None or head.last_seq == 0:
            anchor = Anchor(
                seq=0, mac=GENESIS_HASH, at="", count=0, purged_through_seq=0, first_seq=0, first_at="", anchored_at=""
            )
        else:
            if not _head_row_ok(head):
                raise AnchorError(
                    _("The access log's last row does not verify; not anchored. Run manage.py verify_access_log.")
                )
            head_at = AccessLog.objects.filter(seq=head.last_seq).values_list("at", flat=True).get()
            first = AccessLog.objects.order_by("seq").values("seq", "at").first()
            anchor = Anchor(
                first_seq=first["seq"],
                first_at=first["at"].astimezone(UTC).isoformat(),
                seq=head.last_seq,
                mac=head.last_hash,
                at=head_at.astimezone(UTC).isoformat(),
                count=AccessLog.objects.filter(seq__lte=head.last_seq).count(),
                purged_through_seq=head.purged_through_seq,
                anchored_at="",
            )
    anchor = Anchor(**{**asdict(anchor), "anchored_at": now.astimezone(UTC).isoformat()}).signed()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"access-log-anchor-{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{anchor.seq}.json"
    path.write_text(anchor.to_json())
    logger.info("access log anchored at seq %s (%s rows)", anchor.seq, anchor.count)
    if send:
        transaction.on_commit(lambda: _mail_anchor(anchor, path))
    return anchor, path


def _anchor_recipients() -> list[str]:
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    officers = users.filter(groups__name=roles.PRIVACY_OFFICER)
    return sorted(
        set((officers if officers.exists() else users.filter(is_superuser=True)).values_list("email", flat=True))
    )


def _mail_anchor(anchor: Anchor, path: Path) -> None:
    recipients = _anchor_recipients()
    if not recipients:
        logger.warning("access log anchor seq %s not mailed: no privacy officer with an email", anchor.seq)
        return
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Access log anchor #%(seq)d") % {"seq": anchor.seq}
        body = _(
            "The access log's daily anchor is attached. Keep this email: it lets anyone check later, with "
            "manage.py verify_access_log --anchor FILE, that the log was not truncated or rewritten since.\n\n"
            "Last entry: #%(seq)d\nEntries: %(count)d\nAnchored at: %(when)s\n"
        ) % {"seq": anchor.seq, "count": anchor.count, "when": anchor.anchored_at}
    message = EmailMessage(subject=subject, body=body + "\n" + anchor.to_json(), to=recipients)
    message.attach(path.name, anchor.to_json(), "application/json")
    message.send()


def check_anchor(anchor: Anchor, *, head: AccessLogChainHead | None) -> list[str]:
    """What the current log contradicts in `anchor`: a truncation, a re-chain, missing rows."""
    if anchor.version != 1 or not anchor.signature_ok():
        return [_("The anchor's signature does not match: it was made with another key, or edited.")]
    if anchor.seq == 0:
        return []
    problems = []
    when = anchor.anchored_at[:19].replace("T", " ")
    purged_now = head.purged_through_seq if head else 0
    keep = timedelta(days=settings.AUDIT_ACCESS_LOG_RETENTION_DAYS)
    young_since = timezone.now() - keep
    row = AccessLog.objects.filter(seq=anchor.seq).values("hash").first()
    if row is not None and row["hash"] != anchor.mac:
        problems.append(
            _("Row #%(seq)d differs from the anchor of %(when)s: the log was re-chained after it.")
            % {"seq": anchor.seq, "when": when}
        )
    elif row is None:
        purged_on_time = anchor.seq <= purged_now and anchor.head_time < young_since
        if not purged_on_time:
            problems.append(
                _("Row #%(seq)d of the anchor of %(when)s is missing: the log was truncated.")
                % {"seq": anchor.seq, "when": when}
            )
    if purged_now < anchor.purged_through_seq:
        problems.append(
            _("The log's purged start went back from #%(then)d to #%(now)d since the anchor: it was re-chained.")
            % {"then": anchor.purged_through_seq, "now": purged_now}
        )
    if purged_now >= anchor.first_seq > anchor.purged_through_seq and anchor.first_time >= young_since:
        problems.append(
            _(
                "Rows #%(first)d-#%(last)d were purged, but the anchor of %(when)s shows #%(first)d was written "
                "less than the keep period ago: they were deleted early."
            )
            % {"first": anchor.first_seq, "last": min(purged_now, anchor.seq), "when": when}
        )
    purged_since = max(0, min(purged_now, anchor.seq) - anchor.purged_through_seq)
    expected = anchor.count - purged_since
    present = AccessLog.objects.filter(seq__lte=anchor.seq).count()
    if present < expected:
        problems.append(
            _(
                "%(present)d rows up to #%(seq)d, but the anchor of %(when)s counted %(count)d and retention "
                "purged %(purged)d since: %(missing)d rows were deleted."
            )
            % {
                "present": present,
                "seq": anchor.seq,
                "when": when,
                "count": anchor.count,
                "purged": purged_since,
                "missing": expected - present,
            }
        )
    return problems
