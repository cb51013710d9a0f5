"""The bad-input matrix on real PostgreSQL and Redis (see conftest.py): column lengths,
bigint ranges and real rate-limit storage that the embedded defaults do not have."""

from tests.api.test_bad_input_matrix import (  # noqa: F401 - rerun here
    test_a_bad_body_is_a_clear_4xx_and_nothing_is_stored,
    test_a_bidi_override_anywhere_in_an_application_is_a_400,
    test_a_login_with_a_bad_id_number_is_a_401_and_makes_no_user,
    test_a_lowercase_x_is_normalised_to_the_same_user_as_an_uppercase_x,
    test_a_method_a_read_route_lacks_is_a_405_with_allow,
    test_a_secret_in_the_query_string_is_not_taken_and_never_logged,
    test_control_or_bidi_characters_in_free_text_are_a_400_naming_them,
    test_spoofed_forwarding_headers_do_not_escape_the_rate_limit_or_reach_the_log,
    test_the_good_body_of_each_route_in_the_matrix_is_accepted,
    world,
)
