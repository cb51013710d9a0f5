"""The mock gateway refuses a replayed nonce inside the window and forgets nonces in the
order they came once they are older than twice the window."""

from __future__ import annotations

from mock_gateway.signing import WINDOW_SECONDS, NonceWindow


def test_a_nonce_seen_twice_inside_the_window_is_a_replay():
    window = NonceWindow()
    assert window.first_sighting("app", "n1", now=1000.0)
    assert not window.first_sighting("app", "n1", now=1001.0)
    assert window.first_sighting("other-app", "n1", now=1001.0)


def test_nonces_older_than_twice_the_window_are_forgotten_oldest_first():
    window = NonceWindow()
    for n in range(20_000):
        window.first_sighting("app", f"n{n}", now=float(n))
    # Only the nonces of the last two windows are still held, however many came.
    assert len(window._seen) == 2 * WINDOW_SECONDS
    assert window.first_sighting("app", "n0", now=20_000.0)
    assert not window.first_sighting("app", "n19999", now=20_000.0)
