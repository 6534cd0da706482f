"""Fuzz every JSON endpoint from its own OpenAPI schema, over real HTTP against the live
server: whatever arrives, the API answers with a 2xx or a 4xx, never a 5xx or a stack trace."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from audit.models import ApiClient, ApiScope

EXAMPLES_PER_OPERATION = 40


def test_the_api_never_answers_5xx(live_server):
    client = ApiClient(name="fuzzer", scopes=list(ApiScope.values))
    key = client.issue_key()
    client.save()
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the schema lists no operation"
    tried = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case):
            case.headers = {**(case.headers or {}), "X-API-Key": key}
            response = case.call(base_url=live_server.url)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
            )
            assert "Traceback" not in response.text

        fuzz()
        tried.append(f"{operation.method.upper()} {operation.path}")
    # Every endpoint of every app was fuzzed, including those added after this test was written.
    assert {"POST /api/visits", "POST /api/inquiries", "POST /api/consent/cookies"} <= set(tried)
    assert len(tried) == len(operations)
