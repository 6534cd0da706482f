"""A fake SMS gateway on loopback for development: accepts what incidents/sms.py sends.

    python scripts/fake_sms_gateway.py [--port 0] [--api-key dev-sms-key] [--fail-first N]

Then set SMS_GATEWAY_URL=http://127.0.0.1:<port>/messages, SMS_GATEWAY_API_KEY=<api key> and
SMS_SENDER_NUMBER. It answers 401 to a wrong key, 400 to a body that is not {to, from, text}
strings, 500 to the first N messages (to watch retries), else 200 with an id, and prints each
accepted message's recipient and length (not its text). Binds 127.0.0.1 only; port 0 picks a free
one and prints it. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import secrets
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_handler(api_key: str, fail_first: int):
    state = {"failures_left": fail_first}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            if self.headers.get("Authorization") != f"Bearer {api_key}":
                return self._answer(401, {"error": "bad api key"})
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            except ValueError:
                return self._answer(400, {"error": "not json"})
            if not isinstance(body, dict) or not all(
                isinstance(body.get(k), str) and body[k] for k in ("to", "from", "text")
            ):
                return self._answer(400, {"error": "to, from and text are required strings"})
            if state["failures_left"] > 0:
                state["failures_left"] -= 1
                return self._answer(500, {"error": "simulated failure"})
            print(f"SMS to {body['to']} from {body['from']}: {len(body['text'])} characters", flush=True)
            return self._answer(200, {"id": secrets.token_hex(8)})

        def log_message(self, format, *args):  # noqa: A002  (quiet: the print above says enough)
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="dev-sms-key")
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.api_key, args.fail_first))
    print(f"fake SMS gateway: SMS_GATEWAY_URL=http://127.0.0.1:{server.server_port}/messages", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
