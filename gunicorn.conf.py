"""gunicorn settings for the `web` process (Procfile) and the load benchmark.

The application is imported once in the master and its objects frozen out of the garbage
collector before the workers fork: the workers share those pages instead of copying them, and a
full collection in a worker no longer walks Django's ~150,000 start-up objects (measured in
process: 59 ms -> 3 ms per full collection; docs/BENCHMARKS.md).
"""

import gc
import logging
import os
from pathlib import Path

import environ

from privacyops.lib.logs import RedactSecrets

# .env as the settings read it, the real environment winning (make run starts honcho with
# --env /dev/null, so HOST, PORT and WEB_CONCURRENCY in .env reach this file only through here).
if Path(__file__).with_name(".env").exists():
    environ.Env.read_env(Path(__file__).with_name(".env"), overwrite=False)

wsgi_app = "privacyops.wsgi"
preload_app = True
# Behind a TLS proxy on the same machine; in a container, HOST=0.0.0.0.
bind = f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"
# CPU-bound Python on sync workers: one per core and one spare for a worker waiting on the database
# (measured against twice the cores plus one, bench/load_public.py: fewer processes switched less).
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
# No access log: its lines would carry client addresses and the tokens in verification,
# preference and download links (the TLS proxy in front keeps its own, under its own policy).
accesslog = None
# gunicorn's control socket (for gunicornc) defaults to one path per user, $HOME/.gunicorn/gunicorn.ctl:
# a second gunicorn on the machine would take it over and a command meant for one reach the other.
# The process manager stops and restarts gunicorn by signals; nothing here uses gunicornc.
control_socket_disable = True
# gunicorn's error log prints the request line of a request that failed or did not parse, and the
# client's address: the filter of Django's handler cuts both out, there and in an access log turned
# on from the command line. On the loggers, so it outlives gunicorn re-creating its handlers (HUP).
for _name in ("gunicorn.error", "gunicorn.access"):
    logging.getLogger(_name).addFilter(RedactSecrets())

# The pattern the gc module documents for forking servers: no collection in the master while
# the application loads, freeze just before each fork, collect again in the worker.
gc.disable()


def pre_fork(server, worker):
    gc.freeze()


def post_fork(server, worker):
    gc.enable()


def when_ready(server):
    gc.enable()  # the master too, once its first workers are forked
