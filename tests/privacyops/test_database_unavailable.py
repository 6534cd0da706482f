"""The 503 a lost database connection gives is logged without the link tokens in the path."""

from __future__ import annotations

import logging

from django.db import OperationalError
from django.test import RequestFactory
from django.urls import resolve

from privacyops.lib.middleware import DatabaseUnavailableMiddleware


def test_the_log_line_names_the_route_not_the_token_in_the_path(caplog):
    request = RequestFactory().post("/dsar/verify/secret-token-1234/")
    request.resolver_match = resolve(request.path)
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    with caplog.at_level(logging.ERROR):
        response = middleware.process_exception(request, OperationalError("server closed the connection"))
    assert response.status_code == 503
    assert "secret-token-1234" not in caplog.text
    assert "verify/<str:token>/" in caplog.text
