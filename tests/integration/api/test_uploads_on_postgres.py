"""tests/api/test_uploads.py on real PostgreSQL and Redis (see conftest.py here)."""

from tests.api.test_uploads import *  # noqa: F403 - every test of that module, rerun here
