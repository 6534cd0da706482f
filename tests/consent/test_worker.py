"""The result notice travels through a real broker to a real worker process."""

from __future__ import annotations

import pytest

from consent import services
from consent.models import MarketingNotice, NoticeKind

pytestmark = pytest.mark.worker


def test_a_marketing_consent_reaches_the_worker_which_emails_the_result_notice(celery_worker_process, alice):
    event = services.grant_consent(subject=alice, purpose="marketing", channel="web_form", notice_text="News?")
    celery_worker_process.wait_for(
        lambda: MarketingNotice.objects.filter(event_id=event.pk, kind=NoticeKind.RESULT).exists(),
        what="the result notice to be recorded",
    )
    # The worker logs this line only after the mail backend accepted the message.
    assert f"result notice sent: subject={alice.pk} event={event.pk}" in celery_worker_process.log()
