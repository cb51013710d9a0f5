"""tests/api/test_applications.py on real PostgreSQL and Redis (see conftest.py here)."""

from tests.api.test_applications import *  # noqa: F403 - every test of that module, rerun here
