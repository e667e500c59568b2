"""Configuration: configs/local.yaml equals the built-in defaults; mistakes name the key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Config, ConfigError, load_config
from pipeline.job import pipeline_options

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def test_local_yaml_documents_exactly_the_defaults():
    assert load_config(str(CONFIGS / "local.yaml")) == load_config() == Config()


def test_overrides_are_typed_and_nested():
    config = load_config(None, ["tag.batch_size=8", "clean.fix_mojibake=false", "tag.labels=[PERSON, GPE]"])
    assert (config.tag.batch_size, config.clean.fix_mojibake, config.tag.labels) == (8, False, ("PERSON", "GPE"))


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("tag:\n  batch_size: many\n", "tag.batch_size: expected a whole number"),
        ("tag:\n  batch_size: 0\n", "tag.batch_size: value out of range"),
        ("reed: {}\n", "unknown key 'reed'"),
        ("clean:\n  rules:\n    - {name: x, pattern: '(unclosed'}\n", "clean.rules[0].pattern: invalid regex"),
        ("clean:\n  fix_mojibake: 1\n", "clean.fix_mojibake: expected true or false"),
        ("- just a list\n", "the top level must be a mapping"),
        ("tag: {model: not_installed_model}\n", "tag.model: 'not_installed_model' is neither"),
        ("beam: {Runner: X}\n", "beam.Runner"),
    ],
)
def test_mistakes_name_the_key_and_the_file(tmp_path, yaml_text, message):
    path = tmp_path / "my.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(str(path))
    assert str(path) in str(error.value)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("foo.bar=1", "--set foo.bar=1: unknown key 'foo'"),
        ("tag.batch_sise=8", "--set tag.batch_sise=8: unknown key 'tag.batch_sise'"),
        ("tag.batch_size=many", "--set tag.batch_size=many: tag.batch_size: expected a whole number"),
    ],
)
def test_a_mistaken_override_is_named_as_given_even_with_a_config_file(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(str(CONFIGS / "local.yaml"), ["tag.batch_size=8", override])


def test_beam_section_becomes_options_that_the_command_line_overrides():
    config = load_config(None, ["beam.direct_num_workers=2", "beam.runner=DirectRunner"])
    options = pipeline_options(config, ["--direct_num_workers=3"]).get_all_options()
    assert options["direct_num_workers"] == 3
    assert options["runner"] == "DirectRunner"
