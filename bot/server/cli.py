"""`bastion serve`: run the GitHub App webhook server and its workers."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, load_settings
from bot.server.logs import configure_logging

log = logging.getLogger(__name__)


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Register `serve` on the `bastion` command."""
    serve: argparse.ArgumentParser = commands.add_parser(
        "serve", help="run the GitHub App: receive webhooks, review pull requests"
    )
    serve.add_argument("--host", help="address to listen on (default: settings, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: settings, 8080)")
    serve.add_argument("--config", type=Path, help="settings file (TOML)")
    serve.add_argument(
        "--insecure-no-signature", action="store_true",
        help="accept unsigned deliveries (local testing only; logged loudly)",
    )
    serve.set_defaults(run=run)
    return serve


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; exit status 2 for settings it cannot start with."""
    configure_logging(logging.DEBUG if getattr(args, "verbose", False) else logging.INFO)
    # Imported here so that `bastion review` does not pay for the server's imports.
    from aiohttp import web

    from bot.server.access_log import AccessLogger
    from bot.server.app import make_app

    try:
        settings = load_settings(
            args.config, host=args.host, port=args.port,
            insecure_no_signature=True if args.insecure_no_signature else None,
        )
        app = make_app(settings)
    except ConfigError as exc:
        log.error("cannot start: %s", exc)
        return 2

    web.run_app(
        app, host=settings.host, port=settings.port, access_log_class=AccessLogger,
        print=lambda text: log.info("%s", " ".join(text.split())),
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bot.server`: the same command without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="bastion-serve")
    commands = parser.add_subparsers(dest="command", required=True)
    add_parser(commands)
    args = parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    return run(args)
