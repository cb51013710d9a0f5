"""The 国密 primitives against the examples published with their standards, not only
round trips of our own output: GB/T 32905 (SM3), GB/T 32907 (SM4), RFC 8998 A.1 (SM4-GCM)
and GM/T 0003.5-2012 annex A.2 (SM2 signature, recommended curve)."""

from __future__ import annotations

import gmssl_pyx
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core import guomi

# GM/T 0003.5-2012 A.2: the curve's a, b and base point, the example's key pair and ID.
SM2_A = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
SM2_B = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
SM2_G = (
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
)
EXAMPLE_PRIVATE = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
EXAMPLE_PUBLIC = bytes.fromhex(
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
EXAMPLE_ID = b"1234567812345678"
EXAMPLE_MESSAGE = b"message digest"
EXAMPLE_ZA = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
EXAMPLE_E = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
EXAMPLE_SIGNATURE = encode_dss_signature(
    int("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3", 16),
    int("B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA", 16),
)


def test_sm3_gives_the_standards_digest_of_abc():
    assert guomi.sm3(b"abc").hex() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


def test_sm3_gives_the_standards_digest_of_the_512_bit_sample():
    assert guomi.sm3(b"abcd" * 16).hex() == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_sm4_enciphers_the_standards_sample_once_and_a_million_times():
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    block = encryptor.update(key)  # the sample enciphers the key itself
    assert block.hex() == "681edf34d206965e86b3e94f536e4246"
    for _ in range(999_999):
        block = encryptor.update(block)
    assert block.hex() == "595298c7c6fd271f0402f804c33d3f66"


def test_sm4_gcm_meets_the_rfc_8998_vector_and_refuses_a_changed_byte():
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    expected = bytes.fromhex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC"
    )
    aead = guomi.Sm4Gcm(key)
    assert aead.encrypt(nonce, plaintext, aad) == expected
    assert aead.decrypt(nonce, expected, aad) == plaintext
    for index in (0, 63, 64, 79):
        damaged = bytearray(expected)
        damaged[index] ^= 1
        with pytest.raises(InvalidTag):
            aead.decrypt(nonce, bytes(damaged), aad)
    with pytest.raises(InvalidTag):
        aead.decrypt(nonce, expected, aad + b"x")


def test_sm3_over_the_examples_id_and_key_gives_the_published_za_and_e():
    entl = (len(EXAMPLE_ID) * 8).to_bytes(2, "big")
    za = guomi.sm3(entl + EXAMPLE_ID + bytes.fromhex(SM2_A + SM2_B + SM2_G) + EXAMPLE_PUBLIC)
    assert za.hex().upper() == EXAMPLE_ZA
    assert guomi.sm3(za + EXAMPLE_MESSAGE).hex().upper() == EXAMPLE_E


def test_the_published_sm2_signature_verifies_with_the_standards_key_and_id():
    key = guomi.sm2_public_key(EXAMPLE_PUBLIC)
    assert guomi.sm2_verify(key, EXAMPLE_MESSAGE, EXAMPLE_SIGNATURE, EXAMPLE_ID)


def test_the_published_sm2_signature_fails_for_another_message_id_or_key():
    assert not guomi.sm2_verify(EXAMPLE_PUBLIC, b"message digesT", EXAMPLE_SIGNATURE)
    assert not guomi.sm2_verify(EXAMPLE_PUBLIC, EXAMPLE_MESSAGE, EXAMPLE_SIGNATURE, b"ALICE")
    other, _ = gmssl_pyx.sm2_key_generate()
    assert not guomi.sm2_verify(other, EXAMPLE_MESSAGE, EXAMPLE_SIGNATURE)
    assert not guomi.sm2_verify(EXAMPLE_PUBLIC, EXAMPLE_MESSAGE, b"\x30\x02garbage")


def test_a_signature_made_with_the_standards_private_key_verifies_only_with_its_id():
    signature = guomi.sm2_sign(EXAMPLE_PRIVATE, EXAMPLE_PUBLIC, EXAMPLE_MESSAGE, EXAMPLE_ID)
    assert guomi.sm2_verify(EXAMPLE_PUBLIC, EXAMPLE_MESSAGE, signature, EXAMPLE_ID)
    assert not guomi.sm2_verify(EXAMPLE_PUBLIC, EXAMPLE_MESSAGE, signature, b"another id")


def test_a_point_off_the_sm2_curve_is_refused_as_a_public_key():
    with pytest.raises(ValueError):
        guomi.sm2_public_key(bytes(64))
    assert guomi.sm2_public_key(b"\x04" + EXAMPLE_PUBLIC) == EXAMPLE_PUBLIC


def test_hmac_sm3_agrees_with_gmssls_own_implementation():
    # No standard publishes HMAC-SM3 samples; GmSSL's independent code is the check.
    for key, message in ((b"key", b"abc"), (b"k" * 100, b"x" * 1000), (b"\x00" * 32, b"")):
        assert guomi.hmac_sm3(key, message) == bytes(gmssl_pyx.sm3_hmac(key, message))
