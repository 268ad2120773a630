"""Run Rasa's action server on loopback, answering only callers that know the shared secret.

usage: python -m bot.launch.action_server [--port 5055] [--host 127.0.0.1]

`rasa run actions` always listens on every interface and answers anyone; the action server
only ever talks to our own Rasa server, so ours binds to loopback by default and refuses
every request without the ``X-IPT-Action-Secret`` header (``IPT_ACTION_SECRET``, or the
generated var/secrets/action_secret; Rasa sends it from endpoints.yml). Only ``/health``
answers without it (it says "ok" and nothing else).
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os

from bot import settings

OPEN_PATHS = frozenset({"/health"})


def require_secret(app, secret: str) -> None:
    """Refuse (401) every request but the health check that lacks the secret header."""
    from sanic import response

    expected = secret.encode()

    @app.on_request
    async def check_secret(request):
        if request.path in OPEN_PATHS:
            return None
        given = (request.headers.get(settings.ACTION_SECRET_HEADER) or "").encode()
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "unauthorised"}, status=401)
        return None


def create_app(actions: str = "actions", secret: str | None = None):
    """rasa-sdk's action server app with the shared-secret check."""
    from rasa_sdk.endpoint import create_app as sdk_app

    app = sdk_app(actions, cors_origins=[])
    require_secret(app, secret or settings.action_secret())
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args(argv)

    # IPT_LOG_LEVEL=INFO for more detail; nothing at INFO or above carries message text.
    level = os.environ.get("IPT_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(args.actions)
    logging.getLogger(__name__).warning("action server on http://%s:%s", args.host, args.port)
    app.run(args.host, args.port, workers=1, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
