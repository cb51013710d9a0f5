"""The client address behind proxies: X-Forwarded-For is believed only as far as configured."""

from types import SimpleNamespace

from server.ratelimit import client_address


def request(ip: str, forwarded: str | None = None):
    headers = {"x-forwarded-for": forwarded} if forwarded is not None else {}
    return SimpleNamespace(ip=ip, headers=headers)


def test_without_trusted_proxies_the_socket_address_is_used():
    assert client_address(request("10.0.0.5", "1.2.3.4"), 0) == "10.0.0.5"


def test_one_trusted_proxy_means_the_last_forwarded_address():
    assert client_address(request("10.0.0.5", "6.6.6.6, 1.2.3.4"), 1) == "1.2.3.4"


def test_two_trusted_proxies_skip_the_nearest_one():
    assert client_address(request("10.0.0.5", "6.6.6.6, 1.2.3.4, 10.0.0.9"), 2) == "1.2.3.4"


def test_a_short_chain_falls_back_to_the_socket_address():
    assert client_address(request("10.0.0.5", ""), 1) == "10.0.0.5"
