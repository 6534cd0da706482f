"""The confirmation page links to the request's status on the host and port that served it; only
emailed links use SITE_URL. Over real HTTP, on the live server's own (random) port."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from django.core import mail

pytestmark = pytest.mark.django_db(transaction=True)


def csrf(page: requests.Response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def test_the_status_link_on_the_confirmation_page_works_on_the_port_that_served_it(live_server, settings):
    settings.SITE_URL = "https://privacy.example.com"
    browser = requests.Session()
    browser.headers["Accept-Language"] = "en"
    form = browser.get(f"{live_server.url}/dsar/", timeout=10)
    fields = {"request_type": "access", "name": "Alice Kim", "email": "alice@example.com"}
    submitted = browser.post(f"{live_server.url}/dsar/", data={**fields, "csrfmiddlewaretoken": csrf(form)}, timeout=10)
    assert submitted.url == f"{live_server.url}/dsar/submitted/"

    # The email goes to the public address, wherever the form was served.
    emailed = re.search(r"https://privacy\.example\.com(/dsar/verify/\S+/)", mail.outbox[-1].body)
    assert emailed, mail.outbox[-1].body
    confirm = browser.get(f"{live_server.url}{emailed.group(1)}", timeout=10)
    verified = browser.post(confirm.url, data={"csrfmiddlewaretoken": csrf(confirm)}, timeout=10)
    assert verified.status_code == 200 and "is confirmed" in verified.text

    follow = re.search(r'<a href="([^"]+)">Follow your request</a>', verified.text)
    assert follow, verified.text
    status_url = urljoin(verified.url, follow.group(1))
    assert urlsplit(status_url).netloc == urlsplit(live_server.url).netloc
    status = browser.get(status_url, timeout=10)
    assert status.status_code == 200
    reference = re.search(r"DSAR-[A-Z0-9]{8}", verified.text).group(0)
    assert reference in status.text
