"""Run Rasa's action server on loopback.

usage: python -m bot.action_server [--port 5055] [--host 127.0.0.1]

`rasa run actions` always listens on every interface; the action server only ever talks to
our own Rasa server, so ours binds to loopback by default.
"""

from __future__ import annotations

import argparse
import logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args(argv)

    from rasa_sdk.endpoint import create_app

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(args.actions, cors_origins=[])
    logging.getLogger(__name__).warning("action server on http://%s:%s", args.host, args.port)
    app.run(args.host, args.port, workers=1, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
