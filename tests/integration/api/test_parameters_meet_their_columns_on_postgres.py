"""Parameters checked against their columns (tests/api/test_parameters_meet_their_columns.py)
on real PostgreSQL, whose integer columns end at 64 bits (see conftest.py)."""

from tests.api.test_parameters_meet_their_columns import (  # noqa: F401 - rerun here
    test_a_parameter_its_column_cannot_hold_is_answered_before_any_query,
    world,
)
