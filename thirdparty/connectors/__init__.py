"""Vendor connectors: one module per vendor, all speaking plain HTTP through `http.call`.

Every connector function makes real HTTP calls to a base URL from settings and returns
`VendorResponse`s; it never raises for a vendor's answer, never logs identifiers or credentials,
and leaves retries, pacing and bookkeeping to `thirdparty.services`.

    google_analytics.delete_user(id_type, value)        one request per identifier
    meta.remove_users(audience_id, rows)                 <= 10,000 hashed rows per call
    stibee.unsubscribe(emails) / stibee.purge(emails)
    google_oauth.revoke(token) / refresh_access_token(refresh_token)
    youtube.fetch_statistics(access_token, resource, ids)
"""
