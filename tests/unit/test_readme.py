"""The README documents every setting the server reads, as the settings declare them."""

from pathlib import Path

from server.settings import Settings, documented, readme_table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_the_readme_settings_table_is_the_one_the_settings_declare():
    assert readme_table() in README


def test_every_settings_field_but_the_bookkeeping_is_a_documented_variable():
    documented_names = {env for env, _, _ in documented()}
    for name in Settings.__dataclass_fields__:
        if name == "generated":
            continue
        env = "LINGPAO_ENV" if name == "env" else name.upper()
        assert env in documented_names, env
