"""What the facebook-business SDK (26.0.3) sends to a custom audience's `users` edge, so the local
fake Graph server can refuse anything else.

Copied from the SDK's source (pip download --no-deps facebook-business):
- `adobjects/customaudience.py`, `CustomAudience.delete_users`: param_types namespace, payload, session;
- `adobjects/helpers/customaudiencemixin.py`, `format_params`: payload keys schema, is_raw, data
  (app_ids for the UID schema only), session passed through; `CustomAudience.Schema.MultiKeySchema`
  names the multi-key columns;
- `session.py`, `FacebookSession`: every call carries access_token and appsecret_proof =
  HMAC-SHA256(key=app secret, msg=access token), hex.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from urllib.parse import parse_qs

EDGE_PARAMS = {"namespace", "payload", "session"}
SESSION_PARAMS = {"access_token", "appsecret_proof"}
PAYLOAD_KEYS = {"schema", "is_raw", "data", "app_ids"}
MULTI_KEY_SCHEMA = {
    "EXTERN_ID", "EMAIL", "PHONE", "GEN", "DOBY", "DOBM", "DOBD", "LN", "FN", "FI", "CT", "ST", "ZIP", "MADID",
    "COUNTRY", "APPUID",
}  # fmt: skip
# Meta's batch session for multi-call uploads (Custom Audiences "session" object).
SESSION_KEYS = {"session_id", "batch_seq", "last_batch_flag", "estimated_num_total"}
SHA256_HEX = re.compile(r"^([0-9a-f]{64})?$")


def validate(request, *, token: str, app_secret: str) -> dict:
    """Check one DELETE /{audience}/users request against the SDK's shape; return its parameters."""
    assert "Authorization" not in request.headers, "the SDK sends no Authorization header"
    form = {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items()}
    query = {key: values[0] for key, values in parse_qs(request.query_string.decode()).items()}
    assert not query, f"parameters travel in the form body here, not the URL: {sorted(query)}"
    unknown = set(form) - EDGE_PARAMS - SESSION_PARAMS
    assert not unknown, f"parameters the SDK does not send: {sorted(unknown)}"
    assert form.get("access_token") == token
    proof = hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
    assert form.get("appsecret_proof") == proof
    payload = json.loads(form["payload"])
    assert set(payload) <= PAYLOAD_KEYS, f"payload keys the SDK does not send: {sorted(set(payload) - PAYLOAD_KEYS)}"
    assert isinstance(payload["schema"], list) and set(payload["schema"]) <= MULTI_KEY_SCHEMA
    # The SDK accepts a multi-key schema only with is_raw=True.
    assert payload.get("is_raw") is True
    for row in payload["data"]:
        assert len(row) == len(payload["schema"])
        assert all(SHA256_HEX.match(value) for value in row), "every key is SHA-256 hex (or empty)"
    if "session" in form:
        session = json.loads(form["session"])
        assert set(session) == SESSION_KEYS
    return {"payload": payload, "session": json.loads(form["session"]) if "session" in form else None}
