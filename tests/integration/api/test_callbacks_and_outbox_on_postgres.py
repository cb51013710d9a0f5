"""tests/api/test_callbacks_and_outbox.py on real PostgreSQL and Redis (see conftest.py here)."""

from tests.api.test_callbacks_and_outbox import *  # noqa: F403 - every test of that module, rerun here
