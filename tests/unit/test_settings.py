"""Settings: development generates its keys once, production refuses missing or dev secrets."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ConfigError
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def prod_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    key = tmp_path / "prod_token.pem"
    dev = Settings.from_env({"KEYS_DIR": str(tmp_path / "dev")}).ensure_secrets()
    assert dev.token_key_path == str(tmp_path / "dev" / "token_signing.pem")
    key.write_bytes(Path(dev.token_key_path).read_bytes())
    env = {
        "LINGPAO_ENV": "production",
        "KEYS_DIR": str(tmp_path / "no-dev-keys"),
        "GATEWAY_APP_KEY": "jiaxing-lingpao",
        "GATEWAY_APP_SECRET": "a-real-secret-from-the-vault-0001",
        "PII_KEY": base64.b64encode(b"k" * 32).decode(),
        "TOKEN_KEY_PATH": str(key),
        "IDP_ISSUER": "https://idp.zjzwfw.gov.cn",
        "OCR_ENGINE": "vendor_ocr.engine:IdCardReader",
        "GATEWAY_URL": "https://gateway.zjzwfw.gov.cn",
        "CALLBACK_URL": "https://lingpao.jiaxing.gov.cn/api/v1/gateway/callbacks",
    }
    env.update(extra)
    return env


def test_environment_variables_fill_the_settings():
    s = Settings.from_env(
        {
            "DATABASE_URL": "postgres://x/y",
            "WORKERS": "3",
            "LOG_LEVEL": "debug",
            "MAX_BODY_BYTES": "2048",
            "REDIS_URL": "redis://h:1/2",
        }
    )
    assert (s.database_url, s.workers, s.max_body_bytes, s.redis_url) == (
        "postgres://x/y",
        3,
        2048,
        "redis://h:1/2",
    )


def test_a_non_numeric_number_is_a_clear_config_error():
    with pytest.raises(ConfigError, match="WORKERS must be a number"):
        Settings.from_env({"WORKERS": "many"})


def test_development_generates_missing_keys_once_and_reuses_them(tmp_path):
    env = {"KEYS_DIR": str(tmp_path), "TOKEN_KEY_PATH": str(tmp_path / "t.pem")}
    first = Settings.from_env(env).ensure_secrets()
    second = Settings.from_env(env).ensure_secrets()
    assert set(first.generated) == {"GATEWAY_APP_SECRET", "PII_KEY", "TOKEN_KEY_PATH"}
    assert first.gateway_app_secret == second.gateway_app_secret
    assert first.pii_key == second.pii_key
    assert len(first.pii_key_bytes()) == 32
    assert (tmp_path / "t.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert oct((tmp_path / "pii.key").stat().st_mode & 0o777) == "0o600"


def test_production_with_every_secret_configured_is_accepted(tmp_path):
    s = Settings.from_env(prod_env(tmp_path)).ensure_secrets()
    assert s.production and s.generated == ()


@pytest.mark.parametrize(
    ("drop", "says"),
    [("GATEWAY_APP_SECRET", "GATEWAY_APP_SECRET is not set"), ("PII_KEY", "PII_KEY is not set")],
)
def test_production_refuses_a_missing_secret_and_names_it(tmp_path, drop, says):
    env = prod_env(tmp_path)
    del env[drop]
    with pytest.raises(ConfigError, match=says):
        Settings.from_env(env).ensure_secrets()


@pytest.mark.parametrize(
    ("drop", "says"),
    [
        ("GATEWAY_URL", "GATEWAY_URL is not set"),
        ("CALLBACK_URL", "CALLBACK_URL is not set"),
    ],
)
def test_production_refuses_to_fall_back_to_a_loopback_address(tmp_path, drop, says):
    env = prod_env(tmp_path, MOCK_GATEWAY_PORT="8100", PORT="8000")
    del env[drop]
    with pytest.raises(ConfigError, match=f"refusing to start in production: .*{says}"):
        Settings.from_env(env).ensure_secrets()


def test_production_takes_the_gateway_and_callback_urls_as_configured(tmp_path):
    s = Settings.from_env(prod_env(tmp_path)).ensure_secrets()
    assert s.gateway_url == "https://gateway.zjzwfw.gov.cn"
    assert s.callback_url == "https://lingpao.jiaxing.gov.cn/api/v1/gateway/callbacks"


def test_production_refuses_the_development_app_key(tmp_path):
    env = prod_env(tmp_path, GATEWAY_APP_KEY="lingpao-dev")
    with pytest.raises(ConfigError, match="GATEWAY_APP_KEY is still the development value"):
        Settings.from_env(env).ensure_secrets()


def test_production_refuses_the_mock_gateways_idp_issuer(tmp_path):
    env = prod_env(tmp_path)
    del env["IDP_ISSUER"]
    with pytest.raises(ConfigError, match="IDP_ISSUER is still the mock"):
        Settings.from_env(env).ensure_secrets()


def test_production_refuses_the_stub_ocr_engine(tmp_path):
    env = prod_env(tmp_path)
    del env["OCR_ENGINE"]
    with pytest.raises(ConfigError, match="OCR_ENGINE is still a stub engine"):
        Settings.from_env(env).ensure_secrets()


def test_production_refuses_a_secret_generated_for_development(tmp_path):
    dev = Settings.from_env(
        {"KEYS_DIR": str(tmp_path / "dev"), "TOKEN_KEY_PATH": str(tmp_path / "dev" / "t.pem")}
    ).ensure_secrets()
    env = prod_env(
        tmp_path,
        KEYS_DIR=str(tmp_path / "dev"),
        PII_KEY=dev.pii_key,
        TOKEN_KEY_PATH=dev.token_key_path,
    )
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env).ensure_secrets()
    assert "PII_KEY is the development value" in str(info.value)
    assert "TOKEN_KEY_PATH points into the development key folder" in str(info.value)


def test_a_pii_key_of_the_wrong_length_is_refused(tmp_path):
    env = prod_env(tmp_path, PII_KEY=base64.b64encode(b"short").decode())
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings.from_env(env).ensure_secrets()


def test_two_workers_without_redis_are_refused_with_the_reason():
    with pytest.raises(ConfigError, match="WORKERS=2 needs REDIS_URL"):
        Settings.from_env({"WORKERS": "2"}).check_can_serve()
    Settings.from_env({"WORKERS": "2", "REDIS_URL": "redis://x"}).check_can_serve()


def run_cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    full_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_in_production_with_a_missing_secret_exits_with_a_clear_message(tmp_path):
    env = prod_env(tmp_path)
    del env["PII_KEY"]
    done = run_cli(tmp_path, env, "serve")
    assert done.returncode == 2
    assert "refusing to start in production" in done.stderr
    assert "PII_KEY is not set" in done.stderr


def test_check_config_in_production_without_a_gateway_url_exits_with_a_clear_message(tmp_path):
    env = prod_env(tmp_path)
    del env["GATEWAY_URL"]
    done = run_cli(tmp_path, env, "check-config")
    assert done.returncode == 2
    assert "configuration error: refusing to start in production" in done.stderr
    assert "GATEWAY_URL is not set" in done.stderr and "Traceback" not in done.stderr


def test_serve_with_two_workers_and_the_stand_in_exits_with_a_clear_message(tmp_path):
    done = run_cli(
        tmp_path,
        {
            "WORKERS": "2",
            "KEYS_DIR": str(tmp_path / "k"),
            "TOKEN_KEY_PATH": str(tmp_path / "k" / "t.pem"),
        },
        "serve",
    )
    assert done.returncode == 2
    assert "WORKERS=2 needs REDIS_URL" in done.stderr


def test_serve_with_an_ocr_engine_that_does_not_load_exits_with_a_clear_message(tmp_path):
    done = run_cli(
        tmp_path,
        {
            "OCR_ENGINE": "vendor_ocr.engine:IdCardReader",
            "KEYS_DIR": str(tmp_path / "k"),
            "TOKEN_KEY_PATH": str(tmp_path / "k" / "t.pem"),
        },
        "serve",
    )
    assert done.returncode == 2
    assert "OCR_ENGINE 'vendor_ocr.engine:IdCardReader' cannot be imported" in done.stderr


def test_development_paths_are_under_the_project_root_whatever_the_working_directory(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from server.settings import Settings; s = Settings.from_env({});"
            "print(s.database_url); print(s.keys_dir); print(s.uploads_dir)",
        ],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    database_url, keys_dir, uploads_dir = done.stdout.split()
    assert database_url == f"sqlite://{ROOT / 'var' / 'lingpao.sqlite3'}"
    assert keys_dir == str(ROOT / "var" / "keys")
    assert uploads_dir == str(ROOT / "var" / "uploads")


def test_settings_cannot_be_changed_after_they_are_read():
    s = Settings.from_env({})
    with pytest.raises(AttributeError):
        s.workers = 4  # type: ignore[misc]


def test_moving_the_mock_gateway_port_moves_the_gateway_the_api_talks_to():
    s = Settings.from_env({"MOCK_GATEWAY_PORT": "18100"})
    assert s.gateway_url == "http://127.0.0.1:18100"
    assert Settings.from_env({}).gateway_url == "http://127.0.0.1:8100"


def test_an_explicit_gateway_url_wins_over_the_mock_gateway_port():
    s = Settings.from_env({"MOCK_GATEWAY_PORT": "18100", "GATEWAY_URL": "https://gw.zj.example"})
    assert s.gateway_url == "https://gw.zj.example"


def test_moving_the_api_port_moves_its_addresses_and_the_callback_the_gateway_pushes_to():
    s = Settings.from_env({"PORT": "18000", "HOST": "0.0.0.0"})
    assert s.api_url == "http://127.0.0.1:18000"
    assert s.docs_url == "http://127.0.0.1:18000/docs"
    assert s.callback_url == "http://127.0.0.1:18000/api/v1/gateway/callbacks"
    explicit = Settings.from_env({"PORT": "18000", "CALLBACK_URL": "https://lingpao.example/cb"})
    assert explicit.callback_url == "https://lingpao.example/cb"


def test_a_mock_gateway_port_that_is_not_a_number_is_a_clear_config_error():
    with pytest.raises(ConfigError, match="MOCK_GATEWAY_PORT must be a number"):
        Settings.from_env({"MOCK_GATEWAY_PORT": "eighty"})


def test_redis_url_names_sentinel_or_cluster_by_its_scheme():
    from store.kv import parse_redis_url

    sentinel = parse_redis_url("redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/lingpao/2")
    assert (sentinel.mode, sentinel.master, sentinel.db, sentinel.password) == (
        "sentinel",
        "lingpao",
        2,
        "pw",
    )
    assert sentinel.nodes == (("10.0.0.1", 26379), ("10.0.0.2", 26379))
    cluster = parse_redis_url("redis+cluster://n1:7000,n2:7001")
    assert (cluster.mode, cluster.nodes) == ("cluster", (("n1", 7000), ("n2", 7001)))
    assert parse_redis_url("redis://127.0.0.1:6379/3").mode == "standalone"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("memcached://127.0.0.1:11211", "scheme 'memcached'"),
        ("redis+sentinel://127.0.0.1:26379", "/MASTER_NAME"),
        ("redis+sentinel://127.0.0.1/lingpao", "is not host:port"),
        ("redis+cluster://n1:7000/0", "takes no database"),
    ],
)
def test_a_redis_url_lingpao_cannot_use_is_refused_at_start_saying_why(url, says):
    with pytest.raises(ConfigError, match=says):
        Settings.from_env({"REDIS_URL": url})


@pytest.mark.parametrize(
    ("value", "refused"), [("0", False), ("16", False), ("200", False), ("-1", True)]
)
def test_outbox_yield_at_takes_zero_for_never_and_refuses_a_negative(value, refused):
    if refused:
        with pytest.raises(ConfigError, match="OUTBOX_YIELD_AT must be 0"):
            Settings.from_env({"OUTBOX_YIELD_AT": value}).validate()
    else:
        assert Settings.from_env({"OUTBOX_YIELD_AT": value}).outbox_yield_at == int(value)
