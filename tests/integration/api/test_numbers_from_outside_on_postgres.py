"""Numbers and lengths from outside, on real PostgreSQL: its columns enforce lengths and
bigint ranges that SQLite does not (see conftest.py)."""

from tests.api.test_numbers_from_outside import (  # noqa: F401 - rerun here
    ops,
    test_a_limit_that_is_not_one_to_a_hundred_in_ascii_digits_is_a_400,
    test_a_mode_switch_of_an_item_code_longer_than_its_column_is_a_4xx_and_switches_nothing,
    test_a_requeue_of_a_row_id_that_cannot_exist_is_a_404,
    test_an_id_cursor_that_is_no_row_number_we_could_hold_is_a_400,
    test_an_if_match_that_is_no_version_is_a_400_and_nothing_switches,
    test_codes_and_filters_longer_than_their_columns_are_a_4xx_not_a_500,
)
