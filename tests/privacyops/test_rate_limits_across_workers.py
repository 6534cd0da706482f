"""The request form's hourly limits hold with several gunicorn workers and the default settings
(no CACHE_URL): every worker counts in the same place, and requests arriving at once are each
counted."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.cache import cache

from dsar.models import DataSubjectRequest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(gunicorn):
    # The counters are per clock hour: close to its end, wait for the next one so that all posts
    # of a test fall in the same window.
    left = 3600 - time.time() % 3600
    if left < 30:
        time.sleep(left + 1)
    cache.clear()
    # One proxy in front, so a test can post from many addresses (X-Forwarded-For).
    return gunicorn(workers=3, TRUSTED_PROXY_COUNT="1")


def post_all(server, posts: list[tuple[str, str]]) -> list[int]:
    """POST the request form once per (email, client address), six at a time; the status codes."""
    form = requests.get(f"{server.url}/dsar/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)

    def post(email_and_address: tuple[str, str]) -> int:
        email, address = email_and_address
        response = requests.post(
            f"{server.url}/dsar/",
            data={"csrfmiddlewaretoken": csrf, "request_type": "access", "name": "Alice Kim", "email": email},
            cookies=form.cookies,
            headers={"X-Forwarded-For": address, "Accept-Language": "en"},
            allow_redirects=False,
            timeout=30,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(post, posts))


def test_fifteen_posts_from_one_address_get_exactly_the_hourly_limit_through_three_workers(server, settings):
    limit = settings.DSAR_RATE_LIMIT_PER_IP_PER_HOUR
    codes = post_all(server, [(f"person{i}@example.com", "203.0.113.5") for i in range(15)])
    assert sorted(codes) == [302] * limit + [429] * (15 - limit)
    assert DataSubjectRequest.objects.count() == limit
    # Another address still gets through.
    assert post_all(server, [("someone@example.com", "203.0.113.6")]) == [302]


def test_one_email_address_is_limited_whichever_addresses_and_workers_the_posts_come_from(server, settings):
    limit = settings.DSAR_RATE_LIMIT_PER_EMAIL_PER_HOUR
    codes = post_all(server, [("alice@example.com", f"198.51.100.{i}") for i in range(8)])
    assert sorted(codes) == [302] * limit + [429] * (8 - limit)
    assert DataSubjectRequest.objects.count() == limit
