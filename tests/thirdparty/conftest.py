"""Vendor APIs are pointed at a real HTTP server on 127.0.0.1 (pytest-httpserver); nothing of
ours is patched."""

from __future__ import annotations

import pytest

from thirdparty.connectors import google_analytics
from thirdparty.models import Connector, Processor

from .google_contract import google_api_for, validate_request
from .google_token_server import GoogleTokenServer, write_service_account_key


@pytest.fixture(scope="session")
def google_tokens():
    """A stand-in for oauth2.googleapis.com/token: checks the service account's signed JWT and
    hands out access tokens (`expires_in` settable, 3,600 s by default)."""
    server = GoogleTokenServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def service_account_key(tmp_path, google_tokens):
    google_tokens.reset()
    path = write_service_account_key(tmp_path / "service-account.json", token_uri=google_tokens.token_uri)
    google_analytics.forget_clients()
    yield path
    google_analytics.forget_clients()


@pytest.fixture
def vendors(settings, httpserver, service_account_key):
    base = httpserver.url_for("").rstrip("/")
    settings.GA_API_BASE_URL = base
    settings.GA_PROPERTY_ID = "123456789"
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = str(service_account_key)
    settings.GA_REQUESTS_PER_SECOND = 1.5
    settings.GA_REQUESTS_PER_DAY = 500
    settings.GA_MAX_INLINE_WAIT_SECONDS = 0
    settings.META_GRAPH_BASE_URL = base
    settings.META_API_VERSION = "v21.0"
    settings.META_ACCESS_TOKEN = "EAAB-meta-secret-token"
    settings.META_APP_SECRET = "meta-app-secret"
    settings.META_CUSTOM_AUDIENCE_IDS = ["23850000000000001"]
    settings.STIBEE_API_BASE_URL = base + "/v1"
    settings.STIBEE_API_KEY = "stibee-secret-key"
    settings.STIBEE_LIST_ID = "4242"
    settings.STIBEE_WEBHOOK_SECRET = "stibee-hook-secret"
    settings.GOOGLE_OAUTH_REVOKE_URL = base + "/revoke"
    settings.GOOGLE_OAUTH_TOKEN_URL = base + "/token"
    settings.GOOGLE_OAUTH_CLIENT_ID = "client-id"
    settings.GOOGLE_OAUTH_CLIENT_SECRET = "google-client-secret"
    settings.YOUTUBE_API_BASE_URL = base
    settings.VENDOR_HTTP_TIMEOUT_SECONDS = 2
    settings.VENDOR_JOB_BACKOFF_BASE_SECONDS = 60
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield httpserver
    # Every Google request the test made must hold to the discovery document it was built from.
    violations = [
        f"{request.method} {request.path}: {error}"
        for request, _response in httpserver.log
        if (api := google_api_for(request))
        for error in validate_request(request, *api)
    ]
    assert violations == []


SECRETS = [
    "ya29.sa-token-",
    "PRIVATE KEY",
    "EAAB-meta-secret-token",
    "meta-app-secret",
    "stibee-secret-key",
    "google-client-secret",
]


@pytest.fixture
def no_secrets_in_logs(caplog):
    """Capture every log record at DEBUG (urllib3 included) and check it names no secret or email."""
    caplog.set_level("DEBUG")

    def check(*extra: str):
        text = "\n".join(r.getMessage() for r in caplog.records)
        for secret in [*SECRETS, *extra]:
            assert secret not in text, f"{secret!r} appeared in the logs"
        return text

    return check


@pytest.fixture
def ga(db):
    return Processor.objects.get(connector=Connector.GOOGLE_ANALYTICS)


@pytest.fixture
def meta_processor(db):
    return Processor.objects.get(connector=Connector.META)


@pytest.fixture
def stibee_processor(db):
    return Processor.objects.get(connector=Connector.STIBEE)


@pytest.fixture
def only(db):
    """Leave only the given processors active, so a test talks to one vendor."""

    def keep(*processors):
        Processor.objects.exclude(pk__in=[p.pk for p in processors]).update(active=False)

    return keep


@pytest.fixture(autouse=True)
def english():
    """Service messages are asserted in English (the msgids); Korean output is tested explicitly."""
    from django.utils import translation

    with translation.override("en"):
        yield
