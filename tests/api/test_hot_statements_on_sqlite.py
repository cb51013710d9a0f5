"""The hot statements' contract (tests/integration/test_hot_statements.py) on SQLite, where
the ORM is the implementation."""

from __future__ import annotations

import pytest

from server.bootstrap import records_for
from services.db import apply_migrations, close_database, open_database
from tests.integration.test_hot_statements import (
    test_a_callback_moves_its_application_only_on_its_nonces_first_use,
    test_a_callback_nonce_is_used_once,
    test_a_delivery_is_claimed_by_one_worker_with_its_application,
    test_a_delivery_is_marked_once_and_only_by_its_worker,
    test_a_delivery_marked_after_the_callback_keeps_the_status_the_callback_set,
    test_a_disabled_accounts_login_is_recorded_without_a_family,
    test_a_filing_stores_the_application_its_delivery_and_the_keys_outcome,
    test_a_filing_whose_key_was_taken_over_stores_nothing,
    test_a_first_login_uses_its_token_and_writes_nothing_else,
    test_a_key_is_claimed_once_however_many_filings_race_for_it,
    test_a_login_uses_its_token_updates_the_account_and_starts_a_family,
    test_a_login_whose_token_id_cannot_be_kept_is_never_first,
    test_a_new_key_files_its_application_at_once_and_a_known_key_stores_nothing,
    test_a_replayed_login_writes_nothing,
    test_a_status_moves_only_forward_and_each_step_once,
    test_an_audit_line_is_cut_to_its_columns_rather_than_refused,
    test_an_audit_line_reads_back_as_it_was_written_with_its_json_and_chinese,
    test_an_audit_line_without_before_and_after_keeps_them_empty,
    test_an_identity_token_logs_in_once_even_when_two_logins_race,
    test_an_identity_token_without_a_usable_id_is_never_first,
    test_racing_callbacks_move_a_status_once,
    test_racing_callbacks_with_one_nonce_move_a_status_once,
    test_racing_filings_with_one_new_key_make_one_application,
    test_racing_first_logins_of_one_person_end_in_one_account,
    test_racing_logins_with_one_token_start_one_family,
)

__all__ = [
    "test_racing_first_logins_of_one_person_end_in_one_account",
    "test_a_login_uses_its_token_updates_the_account_and_starts_a_family",
    "test_a_replayed_login_writes_nothing",
    "test_a_first_login_uses_its_token_and_writes_nothing_else",
    "test_a_disabled_accounts_login_is_recorded_without_a_family",
    "test_racing_logins_with_one_token_start_one_family",
    "test_a_login_whose_token_id_cannot_be_kept_is_never_first",
    "test_racing_callbacks_move_a_status_once",
    "test_a_callback_nonce_is_used_once",
    "test_a_callback_moves_its_application_only_on_its_nonces_first_use",
    "test_racing_callbacks_with_one_nonce_move_a_status_once",
    "test_a_status_moves_only_forward_and_each_step_once",
    "test_a_delivery_marked_after_the_callback_keeps_the_status_the_callback_set",
    "test_a_delivery_is_marked_once_and_only_by_its_worker",
    "test_a_delivery_is_claimed_by_one_worker_with_its_application",
    "test_a_filing_whose_key_was_taken_over_stores_nothing",
    "test_a_filing_stores_the_application_its_delivery_and_the_keys_outcome",
    "test_a_key_is_claimed_once_however_many_filings_race_for_it",
    "test_a_new_key_files_its_application_at_once_and_a_known_key_stores_nothing",
    "test_racing_filings_with_one_new_key_make_one_application",
    "test_an_audit_line_is_cut_to_its_columns_rather_than_refused",
    "test_an_audit_line_reads_back_as_it_was_written_with_its_json_and_chinese",
    "test_an_audit_line_without_before_and_after_keeps_them_empty",
    "test_an_identity_token_logs_in_once_even_when_two_logins_race",
    "test_an_identity_token_without_a_usable_id_is_never_first",
]


@pytest.fixture
async def database(tmp_path):
    url = f"sqlite://{tmp_path / 'hot.sqlite3'}"
    await apply_migrations(url)
    await open_database(url)
    try:
        yield records_for(url)  # the ORM's
    finally:
        await close_database()
