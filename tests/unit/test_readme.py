"""The README documents every setting the server reads."""

from pathlib import Path

from server.settings import SETTINGS, Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_has_a_row_in_the_readme():
    for setting in SETTINGS:
        assert f"| `{setting.env}` |" in README, setting.env


def test_every_settings_field_is_a_documented_variable():
    documented = {s.env for s in SETTINGS}
    for name in Settings.__dataclass_fields__:
        if name == "generated":
            continue
        env = "LINGPAO_ENV" if name == "env" else name.upper()
        assert env in documented, env
