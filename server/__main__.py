"""Command line: `python -m server serve|migrate|seed-demo|check-config`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from functools import partial

from server.settings import ConfigError, Settings


def _settings() -> Settings:
    return Settings.from_env().ensure_secrets()


def cmd_serve(args: argparse.Namespace) -> int:
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from server.app import create_app

    settings = _settings()
    settings.check_can_serve()
    loader = AppLoader(factory=partial(create_app, settings))
    app = loader.load()
    app.prepare(
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        single_process=settings.workers == 1,
        access_log=False,
        motd=False,
    )
    Sanic.serve(primary=app, app_loader=loader)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from services.db import apply_migrations

    settings = _settings()
    _ensure_sqlite_folder(settings.database_url)
    asyncio.run(apply_migrations(settings.database_url))
    print("migrations applied")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from services import demo

    settings = _settings()
    summary = asyncio.run(demo.seed(settings.database_url))
    print("demo data:", ", ".join(f"{k}={v}" for k, v in summary.items()) or "nothing to add")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _settings()
    settings.check_can_serve()
    print(f"configuration ok ({settings.env})")
    return 0


def _ensure_sqlite_folder(url: str) -> None:
    from pathlib import Path

    if url.startswith("sqlite://") and ":memory:" not in url:
        Path(url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description="Lingpao backend")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the API").set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("seed-demo", help="load the demo data (idempotent)").set_defaults(
        func=cmd_seed_demo)
    sub.add_parser("check-config", help="validate settings and exit").set_defaults(
        func=cmd_check_config)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"lingpao: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
