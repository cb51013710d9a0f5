"""The ops command line against a real mock gateway process and a SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT


@pytest.fixture
def cli(tmp_path, mock_gateway_process):
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}",
        "KEYS_DIR": str(tmp_path / "k"),
        "GATEWAY_URL": mock_gateway_process["url"],
        "GATEWAY_APP_KEY": mock_gateway_process["app_key"],
        "GATEWAY_APP_SECRET": mock_gateway_process["secret"],
    }

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "server", *args],
            cwd=ROOT,
            env=base | (env or {}),
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run("migrate").returncode == 0
    return run


def test_ops_can_sync_list_switch_and_read_kpis_from_a_terminal(cli):
    synced = cli("sync-items")
    assert synced.returncode == 0 and "created=46" in synced.stdout
    listed = cli("items", "list", "--mode", "in_person")
    assert listed.returncode == 0
    assert "HJ004" in listed.stdout and "paper_original" in listed.stdout
    assert "YB001" not in listed.stdout
    blocked = cli("items", "set-mode", "HJ004", "zero_trip", "--reason", "试试")
    assert blocked.returncode == 1 and "mode_blocked" in blocked.stderr
    before = cli("kpis").stdout
    assert "(14/46)" in before
    switched = cli("items", "set-mode", "HJ001", "zero_trip", "--reason", "可全程网办")
    assert switched.returncode == 0 and "version 2" in switched.stdout
    assert "(15/46)" in cli("kpis").stdout


def test_demo_data_grants_ops_and_the_cli_manages_roles_and_disabling(cli):
    assert cli("seed-demo").returncode == 0
    revoked = cli("revoke-ops", "330402197803203454")
    assert revoked.returncode == 0 and "roles citizen" in revoked.stdout
    assert "330402197803203454" not in revoked.stdout
    granted = cli("grant-ops", "330402197803203454")
    assert "citizen,ops" in granted.stdout
    assert "disabled" in cli("disable-user", "330402197803203454").stdout
    unknown = cli("grant-ops", "330411198506152348")
    assert unknown.returncode == 1 and "never logged in" in unknown.stderr
    invalid = cli("grant-ops", "330411198506152349")
    assert invalid.returncode == 2


def test_rotate_pii_moves_stored_id_numbers_to_guomi_and_a_second_run_finds_nothing(cli, tmp_path):
    import sqlite3

    assert cli("seed-demo").returncode == 0
    database = tmp_path / "cli.sqlite3"
    [before] = sqlite3.connect(database).execute("select id_encrypted from app_user").fetchall()
    assert not before[0].startswith("sm4gcm:")
    first = cli("rotate-pii", "--batch-size", "1", env={"CRYPTO_SUITE": "guomi"})
    assert first.returncode == 0, first.stderr
    assert "guomi suite; 1 users" in first.stdout
    [after] = sqlite3.connect(database).execute("select id_encrypted from app_user").fetchall()
    assert after[0].startswith("sm4gcm:")
    again = cli("rotate-pii", env={"CRYPTO_SUITE": "guomi"})
    assert "0 users, 0 upload files" in again.stdout
    refused = cli("rotate-pii", "--batch-size", "0")
    assert refused.returncode == 2 and "1 to 10000" in refused.stderr


def test_rotate_pii_exits_1_counting_the_rows_it_left_behind_and_a_rerun_finishes(
    cli, tmp_path, request
):
    import sqlite3

    assert cli("seed-demo").returncode == 0
    database = sqlite3.connect(tmp_path / "cli.sqlite3")
    request.addfinalizer(database.close)
    # Something still sealing under the old suite writes the row back as fast as the
    # rotation rewrites it (an instance not yet restarted with CRYPTO_SUITE=guomi).
    database.execute(
        "CREATE TRIGGER written_back AFTER UPDATE OF id_encrypted ON app_user"
        " BEGIN UPDATE app_user SET id_encrypted = OLD.id_encrypted WHERE id = NEW.id; END"
    )
    database.commit()
    stuck = cli("rotate-pii", env={"CRYPTO_SUITE": "guomi"})
    assert stuck.returncode == 1, stuck.stdout + stuck.stderr
    assert "1 users left behind: run it again" in stuck.stdout
    database.execute("DROP TRIGGER written_back")
    database.commit()
    again = cli("rotate-pii", env={"CRYPTO_SUITE": "guomi"})
    assert again.returncode == 0 and "nothing left behind" in again.stdout
    [(sealed,)] = database.execute("select id_encrypted from app_user").fetchall()
    assert sealed.startswith("sm4gcm:")
