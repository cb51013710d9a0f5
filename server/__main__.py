"""Command line: `python -m server serve|migrate|seed-demo|check-config|rotate-pii|demo|…`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from functools import partial

from core.errors import CommandFailed, ConfigError
from server.settings import Settings


def _settings() -> Settings:
    return Settings.from_env().ensure_secrets()


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings()
    settings.check_can_serve()
    if settings.workers > 1 or settings.prometheus_multiproc_dir:
        # Before server.app imports prometheus_client, which reads the folder once.
        from server.metrics_files import share_metrics_between_workers

        share_metrics_between_workers(settings.prometheus_multiproc_dir)

    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from server.app import create_app

    loader = AppLoader(factory=partial(create_app, settings))
    app = loader.load()
    single = settings.workers == 1
    app.prepare(
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        single_process=single,
        access_log=False,
        motd=False,
    )
    if single:
        # One process, no worker manager: a SIGTERM sent to the whole process group (systemd,
        # a terminal's Ctrl-C) reaches the server once. Under the manager the worker got it
        # twice (from the group and relayed as SIGINT), which broke Sanic's drain midway.
        Sanic.serve_single(primary=app)
    else:
        Sanic.serve(primary=app, app_loader=loader)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from store.db import apply_migrations

    settings = _settings()
    _ensure_sqlite_folder(settings.database_url)
    if args.create_database and settings.database_url.startswith(("postgres://", "postgresql://")):
        from store.db import create_database_if_missing

        if asyncio.run(create_database_if_missing(settings.database_url)):
            print("database created")
    asyncio.run(apply_migrations(settings.database_url))
    print("migrations applied")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from server import admin

    settings = _settings()
    summary = asyncio.run(admin.seed_demo(settings))
    added = ", ".join(f"{k}={v}" for k, v in summary.items())
    print("demo data:", added or "already present")
    return 0


def _user_command(args: argparse.Namespace, action) -> int:
    """Runs one user-administration action and says what became of the user."""
    from auth.identity import is_valid, mask
    from core.errors import UserNotFound

    if not is_valid(args.id_number):
        print("lingpao: that is not a valid resident ID number", file=sys.stderr)
        return 2
    settings = _settings()
    try:
        result = asyncio.run(action(settings, args.id_number))
    except UserNotFound:
        print(
            f"lingpao: no user {mask(args.id_number)} (they have never logged in)", file=sys.stderr
        )
        return 1
    print(f"{mask(args.id_number)}: {result}")
    if not settings.redis_url:
        print(
            "note: without REDIS_URL a running server keeps its own revocation list; "
            "access tokens it issued stay valid until they expire",
            file=sys.stderr,
        )
    return 0


async def _grant_ops(settings, id_number):
    from server import admin

    return "roles " + ",".join((await admin.set_role(settings, id_number, "ops", True))["roles"])


async def _revoke_ops(settings, id_number):
    from server import admin

    return "roles " + ",".join((await admin.set_role(settings, id_number, "ops", False))["roles"])


async def _disable(settings, id_number):
    from server import admin

    return f"disabled, {await admin.set_disabled(settings, id_number, True)} sessions ended"


async def _enable(settings, id_number):
    from server import admin

    await admin.set_disabled(settings, id_number, False)
    return "enabled"


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _settings()
    settings.check_can_serve()
    print(f"configuration ok ({settings.env})")
    # The addresses these settings resolve to; `make run` prints them as its banner.
    print(f"  API            {settings.api_url}")
    print(f"  documentation  {settings.docs_url}")
    print(f"  gateway        {settings.gateway_url}")
    return 0


def cmd_sync_items(args: argparse.Namespace) -> int:
    from server import admin

    counts = asyncio.run(admin.sync_items(_settings()))
    print("catalog synced:", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


def cmd_items(args: argparse.Namespace) -> int:
    from core.errors import LingpaoError
    from server import admin

    settings = _settings()
    try:
        if args.items_command == "list":
            for item in asyncio.run(admin.list_items(settings, args.mode)):
                blockers = ",".join(item["blockers"]) or "-"
                print(
                    f"{item['code']:8} {item['mode']:10} v{item['version']:<3} "
                    f"{item['category']:6} {item['name']}  [blockers: {blockers}]"
                )
        else:
            changed = asyncio.run(admin.set_mode(settings, args.code, args.mode, args.reason))
            print(f"{changed['code']} is now {changed['mode']} (version {changed['version']})")
    except LingpaoError as exc:
        blocked: object = exc.details.get("blockers")
        print(f"lingpao: {exc.code}: {exc.message}", file=sys.stderr)
        for blocker in blocked if isinstance(blocked, list) else []:
            print(f"  blocked by {blocker.get('reason')}: {blocker.get('name')}", file=sys.stderr)
        return 1
    return 0


def cmd_outbox_worker(args: argparse.Namespace) -> int:
    from server import admin
    from server.observability import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    asyncio.run(admin.run_outbox_worker(settings))
    return 0


def cmd_kpis(args: argparse.Namespace) -> int:
    from server import admin

    for i in asyncio.run(admin.indicators(_settings())):
        value = "n/a" if i["value"] is None else f"{i['value']:.1%}"
        mark = "met" if i["met"] else "SHORT"
        print(
            f"{i['key']:18} {i['name']:8} {value:>7} of target {i['target']:.0%}  "
            f"({i['numerator']}/{i['denominator']})  {mark}"
        )
    return 0


def _batch_size(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise argparse.ArgumentTypeError("a batch is 1 to 10000 rows")
    return int(text)


def cmd_rotate_pii(args: argparse.Namespace) -> int:
    from server import admin

    settings = _settings()
    done = asyncio.run(admin.rotate_pii(settings, args.batch_size))
    rewritten = (
        f"rotate-pii: {settings.crypto_suite} suite; {done['users']} users, "
        f"{done['uploads']} upload files and records rewritten"
    )
    if done["users_left"]:
        # Rows that kept changing under it (another rotation, a restore): said, not hidden.
        print(f"{rewritten}; {done['users_left']} users left behind: run it again")
        return 1
    print(f"{rewritten}; nothing left behind")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from server import demo

    try:
        # Settings as they are: the demo refuses production before its secrets are read.
        token = asyncio.run(demo.login(Settings.from_env(), args.name, args.assurance))
    except CommandFailed as exc:
        print(f"lingpao: {exc}", file=sys.stderr)
        return 1
    # Only the token on stdout, so that `TOKEN=$(python -m server demo login 张三)` works.
    print(token)
    return 0


USER_COMMANDS = (
    ("grant-ops", _grant_ops, "give a user the ops role (ends their sessions)"),
    ("revoke-ops", _revoke_ops, "take the ops role away (ends their sessions)"),
    ("disable-user", _disable, "disable a user and end all their sessions"),
    ("enable-user", _enable, "enable a disabled user"),
)


def _ensure_sqlite_folder(url: str) -> None:
    from pathlib import Path

    if url.startswith("sqlite://") and ":memory:" not in url:
        Path(url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description="Lingpao backend")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the API").set_defaults(func=cmd_serve)
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument(
        "--create-database", action="store_true", help="PostgreSQL: create it first if missing"
    )
    migrate.set_defaults(func=cmd_migrate)
    sub.add_parser("seed-demo", help="load the demo data (idempotent)").set_defaults(
        func=cmd_seed_demo
    )
    sub.add_parser("check-config", help="validate settings and exit").set_defaults(
        func=cmd_check_config
    )
    sub.add_parser("sync-items", help="sync the item catalog from the gateway").set_defaults(
        func=cmd_sync_items
    )
    items = sub.add_parser("items", help="list items or switch an item's handling mode")
    items_sub = items.add_subparsers(dest="items_command", required=True)
    listing = items_sub.add_parser("list", help="items with mode, version and blockers")
    listing.add_argument("--mode", choices=["in_person", "one_trip", "zero_trip"])
    setting = items_sub.add_parser("set-mode", help="switch one item (audited)")
    setting.add_argument("code")
    setting.add_argument("mode", choices=["in_person", "one_trip", "zero_trip"])
    setting.add_argument("--reason", required=True)
    items.set_defaults(func=cmd_items)
    sub.add_parser("kpis", help="the city's indicators, live").set_defaults(func=cmd_kpis)
    sub.add_parser(
        "outbox-worker", help="deliver queued applications to the gateway until SIGTERM"
    ).set_defaults(func=cmd_outbox_worker)
    rotate = sub.add_parser(
        "rotate-pii",
        help="seal stored ID numbers and uploads again under CRYPTO_SUITE and PII_KEY "
        "(resumable; the API may keep serving)",
    )
    rotate.add_argument(
        "--batch-size", type=_batch_size, default=200, metavar="N", help="rows per batch (200)"
    )
    rotate.set_defaults(func=cmd_rotate_pii)
    demo = sub.add_parser("demo", help="act as a demo citizen (development only)")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    login = demo_sub.add_parser(
        "login", help="print an access token for a demo citizen, signed in through the mock IdP"
    )
    login.add_argument("name", help="a demo citizen: 张三, 李四 or 王五 (ops)")
    login.add_argument("--assurance", choices=["face", "sms"], default="face")
    demo.set_defaults(func=cmd_demo)
    for name, action, text in USER_COMMANDS:
        command = sub.add_parser(name, help=text)
        command.add_argument("id_number")
        command.set_defaults(func=partial(_user_command, action=action))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"lingpao: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
