"""Bad input on the public forms: whatever a person types, the answer is a page with a clear
message (2xx, a redirect or a 4xx), never a 500 or a stack trace, and nothing half-written."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsar.models import DataSubjectRequest

pytestmark = pytest.mark.django_db

# Text with the awkward parts of Unicode: control characters, NUL, surrogate-free astral
# characters, right-to-left marks, combining marks, and very long runs.
awkward_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000) | st.sampled_from(
    ["", " ", "\x00", "<script>alert(1)</script>", "‮evil", "e\u0301" * 500, "𝔘" * 300, "x" * 100_000]
)


@given(
    request_type=st.sampled_from(["access", "deletion", "correction", "nonsense", "", "<b>"]),
    name=awkward_text,
    email=awkward_text | st.emails(),
    phone=awkward_text,
    details=awkward_text,
    is_agent=st.sampled_from(["", "on", "yes", "\x00"]),
)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_request_form_never_answers_5xx(client, request_type, name, email, phone, details, is_agent):
    cache.clear()  # the rate limiter would answer 429 before validation is exercised
    before = DataSubjectRequest.objects.count()
    response = client.post(
        "/dsar/",
        {
            "request_type": request_type,
            "name": name,
            "email": email,
            "phone": phone,
            "details": details,
            "is_agent": is_agent,
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code < 500
    body = response.content.decode(errors="replace")
    assert "Traceback" not in body
    if response.status_code == 200:
        # The form came back with an error: nothing was saved.
        assert DataSubjectRequest.objects.count() == before
    if "<script>alert(1)</script>" in (name, details):
        assert "<script>alert(1)</script>" not in body
