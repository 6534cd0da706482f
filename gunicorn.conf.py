"""gunicorn settings for the `web` process (Procfile) and the load benchmark.

The application is imported once in the master and its objects frozen out of the garbage
collector before the workers fork: the workers share those pages instead of copying them, and a
full collection no longer walks Django's ~150,000 start-up objects, which took 60 ms of a
worker's time every ~1,500 requests (bench/load_public.py: the request form's p99).
"""

import gc
import os

wsgi_app = "privacyops.wsgi"
# Behind a TLS proxy on the same machine; in a container, HOST=0.0.0.0.
bind = f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"
# CPU-bound Python on sync workers: one per core and one spare for a worker waiting on the database
# (measured against twice the cores plus one, bench/load_public.py: fewer processes switched less).
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
# No access log: its lines would carry client addresses and the tokens in verification,
# preference and download links (the TLS proxy in front keeps its own, under its own policy).
preload_app = True

# The pattern the gc module documents for forking servers: no collection in the master while
# the application loads, freeze just before each fork, collect again in the worker.
gc.disable()


def pre_fork(server, worker):
    gc.freeze()


def post_fork(server, worker):
    gc.enable()
