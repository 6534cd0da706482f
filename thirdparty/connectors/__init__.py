"""Vendor connectors: one module per vendor, all speaking plain HTTP through `http.call`.

Every connector function makes real HTTP calls to a base URL from settings and returns
`VendorResponse`s; it never raises for a vendor's answer, never logs identifiers or credentials.
Each vendor that takes erasure jobs also has its run function here, beside its calls (one module
per integration): `google_analytics.run`, `stibee.run`, `meta.run_batch`, and `email.run` for
processors without an API. A run answers a `base.Outcome`; the engine in `thirdparty.jobs` claims
the jobs, records attempts and receipts and schedules retries.

    google_analytics.delete_user(id_type, value)        one request per identifier
    meta.remove_users(audience_id, rows)                 <= 10,000 hashed rows per call
    stibee.unsubscribe(emails) / stibee.purge(emails)
    google_oauth.revoke(token) / refresh_access_token(refresh_token)
    youtube.fetch_statistics(access_token, resource, ids)
"""
