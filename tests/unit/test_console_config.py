"""What the ops console is told in production: no demo people, no mock IdP."""

from __future__ import annotations

from server.routes.console import console_config, content_security_policy
from server.settings import Settings


def test_in_production_the_console_offers_only_the_provincial_sign_in():
    settings = Settings(env="production", ops_sign_in_url="https://sso.example.gov.cn/ops")
    config = console_config(settings)
    assert config == {
        "environment": "production",
        "idp_token_url": None,
        "sign_in_url": "https://sso.example.gov.cn/ops",
        "demo_identities": [],
    }
    assert "connect-src 'self';" in content_security_policy(settings)
