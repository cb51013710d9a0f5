"""Log lines never carry a full ID number or a token, whoever wrote them."""

from server.observability import redact


def test_an_id_number_is_masked_inside_any_text():
    assert redact("user 330402199001011230 logged in") == "user 3304**********1230 logged in"
    assert redact("x=33041119850615234X;") == "x=3304**********234X;"


def test_longer_digit_runs_are_left_alone():
    assert redact("order 1234567890123456789012") == "order 1234567890123456789012"


def test_a_jwt_is_replaced():
    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJl"
    assert redact(f"Bearer {token}") == "Bearer <token>"


def test_a_line_break_from_a_request_cannot_forge_a_log_line(log_output):
    import logging

    log = logging.getLogger("lingpao.test")
    log.warning("refused reason %s", "ok\r\n2026-11-26 INFO lingpao.auth admin logged in")
    try:
        raise ValueError("bad\n2026-11-26 INFO lingpao.auth forged too")
    except ValueError:
        log.exception("failed")
    lines = log_output.getvalue().splitlines()
    assert not any(line.startswith("2026-11-26 INFO") for line in lines)
    assert any("ok\\r\\n2026-11-26 INFO" in line for line in lines)
