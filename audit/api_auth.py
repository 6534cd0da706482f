"""The JSON API's key check, beside the `ApiClient` it authenticates.

Each app's router takes `auth=ApiKey(<scope>)` from here; `privacyops/api.py` only assembles
the routers, so no app imports the project package.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyHeader

from .models import ApiClient


class ApiKey(APIKeyHeader):
    """`X-API-Key: <key>` of an active client holding `scope`."""

    param_name = "X-API-Key"

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiClient | None:
        client = ApiClient.objects.authenticate(key or "")
        if client is None:
            return None
        if not client.has_scope(self.scope):
            raise HttpError(403, f"This API key may not use this endpoint (it needs the scope '{self.scope}').")
        return client
