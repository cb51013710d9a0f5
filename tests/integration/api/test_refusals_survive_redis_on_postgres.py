"""A "no" outlives a real Redis that lost its data, on real PostgreSQL (see conftest.py)."""

from tests.api.test_refusals_survive_redis import (  # noqa: F401 - rerun here
    test_a_disabled_user_stays_out_when_redis_restarts_empty,
    test_a_logged_out_token_stays_dead_when_redis_restarts_empty,
    test_after_redis_restarts_the_mirror_is_rebuilt_and_trusted_again,
)
