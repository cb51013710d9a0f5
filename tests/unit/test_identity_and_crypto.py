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
    from cryptography.exceptions import InvalidTag

    token = PiiCipher(os.urandom(32)).encrypt("330402199001011230")
    with pytest.raises(InvalidTag):
        PiiCipher(os.urandom(32)).decrypt(token)
