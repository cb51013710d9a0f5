"""The stub OCR engine reads what a test image carries, the same every time; the engine is
chosen by OCR_ENGINE, and a bad choice stops the server from starting."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from ocr_stubs.stub import CHUNK, StubOcrEngine
from server.settings import Settings
from services.uploads import engine_from_path
from tests import upload_samples as samples


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "image"
    path.write_bytes(data)
    return path


async def test_the_stub_reads_the_fields_a_png_carries_and_the_same_every_time(tmp_path):
    image = _file(tmp_path, samples.id_card_png("330402199001011230", "张三", sex="男"))
    engine = StubOcrEngine()
    first = await engine.read_id_card(image, "image/png")
    assert first == {"name": "张三", "id_number": "330402199001011230", "sex": "男"}
    assert await engine.read_id_card(image, "image/png") == first


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (samples.png(), "image/png"),
        (samples.png(text={CHUNK: "{not json"}), "image/png"),
        (samples.png(text={CHUNK: '["a list"]'}), "image/png"),
        (samples.jpeg(), "image/jpeg"),
        (samples.pdf(), "application/pdf"),
    ],
    ids=["png-without-chunk", "chunk-not-json", "chunk-not-an-object", "jpeg", "pdf"],
)
async def test_the_stub_reads_nothing_from_anything_else(tmp_path, data, media_type):
    assert await StubOcrEngine().read_id_card(_file(tmp_path, data), media_type) == {}


async def test_the_stub_keeps_only_string_fields(tmp_path):
    image = _file(tmp_path, samples.png(text={CHUNK: '{"name": "张三", "age": 35}'}))
    assert await StubOcrEngine().read_id_card(image, "image/png") == {"name": "张三"}


def test_the_engine_named_by_its_import_path_is_loaded():
    assert isinstance(engine_from_path("ocr_stubs.stub:StubOcrEngine"), StubOcrEngine)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("ocr_stubs.stub.StubOcrEngine", "not an import path"),
        ("ocr_stubs.nowhere:Engine", "cannot be imported"),
        ("ocr_stubs.stub:NoSuchEngine", "cannot be imported"),
        ("ocr_stubs.stub:read_chunk", "could not be made"),
        ("ocr_stubs.stub:CHUNK", "could not be made"),
        ("pathlib:Path", "has no async read_id_card"),
    ],
)
def test_a_bad_ocr_engine_is_a_config_error_naming_it(value, says):
    with pytest.raises(ConfigError, match=says):
        engine_from_path(value)


def test_a_malformed_ocr_engine_setting_is_refused_when_the_settings_are_read():
    with pytest.raises(ConfigError, match="OCR_ENGINE"):
        Settings.from_env({"OCR_ENGINE": "ocr_stubs/stub.py"})


def test_serve_and_check_config_refuse_an_engine_that_does_not_load():
    with pytest.raises(ConfigError, match="OCR_ENGINE 'vendor_ocr.engine:Reader' cannot be"):
        Settings.from_env({"OCR_ENGINE": "vendor_ocr.engine:Reader"}).check_can_serve()
    Settings.from_env({}).check_can_serve()


def test_upload_limits_must_be_positive():
    with pytest.raises(ConfigError, match="UPLOAD_MAX_BYTES"):
        Settings.from_env({"UPLOAD_MAX_BYTES": "0"})
