"""CPU per request, in process, of the per-person consent write (POST /api/consent/{subject},
API key) against the cookie-choice endpoint (POST /api/consent/cookies) and a trivial view, on
PostgreSQL, through Django's test client (the whole middleware stack, no network).

Each round posts N requests to each endpoint in turn (consent writes alternate grant and
withdrawal over 50 subjects, so every one records an event); the figure is the process's CPU
time per request (time.process_time), the median over the rounds, with the ratio to the
cookie-choice endpoint measured in the same round.

    python bench/consent_write.py [--rounds 5] [--requests 200]
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import random
import statistics
import time
from datetime import UTC, datetime

from common import create_database, machine, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/privacyops_bench_consent_write"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--purpose", default="personalised_content")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.update(
        DEBUG="False",
        SECRET_KEY=base64.urlsafe_b64encode(os.urandom(48)).decode(),
        FIELD_ENCRYPTION_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        ACCESS_LOG_CHAIN_KEY=base64.urlsafe_b64encode(os.urandom(48)).decode(),
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="False",
        LOG_LEVEL="WARNING",
        CONSENT_COOKIE_RATE_LIMIT_PER_MINUTE="100000000",
    )
    create_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.core.management import call_command
    from django.test import Client

    from audit.models import ApiClient, ApiScope
    from consent import banner
    from subjects.models import DataSubject

    call_command("migrate", verbosity=0)
    ApiClient.objects.filter(name="bench-consent").delete()
    api_client = ApiClient(name="bench-consent", scopes=[ApiScope.CONSENT_WRITE])
    key = api_client.issue_key()
    api_client.save()
    subjects = [
        DataSubject.objects.get_or_create(email=f"bench{i}@example.com", defaults={"source": "automatic"})[0].pk
        for i in range(50)
    ]
    version = banner.banner_version()
    gc.freeze()  # as gunicorn.conf.py does after loading the application
    client = Client()
    state = {"n": 0}

    def consent() -> int:
        n = state["n"] = state["n"] + 1
        action = "grant" if (n // 50) % 2 == 0 else "withdraw"
        body = {"purpose": args.purpose, "action": action, "channel": "web_form", "notice_text": "I agree."}
        return client.post(
            f"/api/consent/{subjects[n % 50]}", json.dumps(body), content_type="application/json", HTTP_X_API_KEY=key
        ).status_code

    def cookie() -> int:
        body = {"visitor_id": f"{random.getrandbits(128):032x}", "banner_version": version, "language": "ko"}
        body["choice"] = "allow_all"
        return client.post("/api/consent/cookies", json.dumps(body), content_type="application/json").status_code

    def trivial() -> int:
        return client.get("/healthz/live").status_code

    endpoints = {"trivial view": trivial, "POST /api/consent/cookies": cookie, "POST /api/consent/{subject}": consent}
    cpu: dict[str, list[float]] = {name: [] for name in endpoints}
    ratios: list[float] = []
    for name, fn in endpoints.items():  # warm-up: templates, connections, caches
        for _ in range(20):
            assert fn() in (200, 201), name
    for _ in range(args.rounds):
        for name, fn in endpoints.items():
            began = time.process_time()
            for _ in range(args.requests):
                status = fn()
            cpu[name].append((time.process_time() - began) / args.requests * 1000)
            assert status in (200, 201), (name, status)
        ratios.append(cpu["POST /api/consent/{subject}"][-1] / cpu["POST /api/consent/cookies"][-1])
    print(f"# {machine()}; {datetime.now(UTC):%Y-%m-%d}; 1-minute load average {os.getloadavg()[0]:.1f}")
    print(f"# in process, CPU per request, median of {args.rounds} rounds of {args.requests}")
    print("| endpoint | CPU ms per request | (range) |")
    print("|---|---:|---:|")
    for name, values in cpu.items():
        print(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f}-{max(values):.2f} |")
    print(
        f"consent write / cookie choice, same round: median {statistics.median(ratios):.2f}x "
        f"(range {min(ratios):.2f}-{max(ratios):.2f})"
    )


if __name__ == "__main__":
    main()
