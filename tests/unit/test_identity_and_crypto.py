"""ID numbers: the GB 11643 check digit, masking, encryption at rest and the lookup hash."""

import os

import pytest

from auth import identity
from core.crypto import PiiCipher


@pytest.mark.parametrize(
    "value", ["330402199001011230", "330411198506152348", "11010519491231002x"]
)
def test_valid_numbers_pass(value):
    assert identity.is_valid(value)


@pytest.mark.parametrize(
    "value",
    ["330402199001011231", "33040219900101123", "A30402199001011230", "030402199001011230", ""],
)
def test_invalid_numbers_fail(value):
    assert not identity.is_valid(value)


def test_masking_keeps_the_region_prefix_and_the_last_four():
    assert identity.mask("330402199001011230") == "3304**********1230"


def test_encryption_round_trips_and_never_repeats_a_ciphertext():
    cipher = PiiCipher(os.urandom(32))
    a, b = cipher.encrypt("330402199001011230"), cipher.encrypt("330402199001011230")
    assert a != b and "330402199001011230" not in a
    assert cipher.decrypt(a) == "330402199001011230"


def test_the_lookup_hash_is_stable_per_key_and_differs_across_keys():
    one, two = PiiCipher(os.urandom(32)), PiiCipher(os.urandom(32))
    assert one.lookup_hash("330402199001011230") == one.lookup_hash("330402199001011230")
    assert one.lookup_hash("330402199001011230") != two.lookup_hash("330402199001011230")


def test_a_ciphertext_from_another_key_does_not_decrypt():
    from core.errors import StoredDataCorrupt

    token = PiiCipher(os.urandom(32)).encrypt("330402199001011230")
    with pytest.raises(StoredDataCorrupt):
        PiiCipher(os.urandom(32)).decrypt(token)


def with_check(first17: str) -> str:
    """A number with the right check character (the test's own copy of the rule)."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


@pytest.mark.parametrize(
    "birth", ["19901301", "19900230", "19900231", "18991231", "20990101", "19900000"]
)
def test_a_birth_date_that_never_was_or_is_yet_to_come_fails_whatever_the_check(birth):
    assert not identity.is_valid(with_check(f"330402{birth}123"))


@pytest.mark.parametrize(
    "value",
    [
        "３３０４０２１９９００１０１１２３０",  # full width
        "33040219900101123０",  # one full-width digit
        "٣٣٠٤٠٢١٩٩٠٠١٠١١٢٣٠",  # Arabic-Indic
        "3304021990010112300",  # 19 characters
    ],
)
def test_numbers_in_other_digits_or_lengths_fail_rather_than_being_rewritten(value):
    assert not identity.is_valid(value)


def test_a_lowercase_check_character_is_the_one_normalisation():
    assert identity.normalize(" 11010519491231002x ") == "11010519491231002X"
    assert identity.is_valid("11010519491231002x")
