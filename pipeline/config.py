"""The run's configuration: the YAML file and `--set` overrides loaded into validated dataclasses, once."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from transforms.core.clean import CleanConfig
from transforms.core.dedup import DedupConfig, find_probability
from transforms.core.entities import TagConfig, language_models
from transforms.core.language import LanguageConfig, load_identifier
from transforms.core.nlp import model_exists
from transforms.core.parse import ReadConfig
from transforms.core.records import WriteConfig


class ConfigError(ValueError):
    """A configuration mistake, reported before any work starts, naming the key and the file."""


@dataclass(frozen=True)
class IncrementalConfig:
    """`incremental`: nightly runs over a growing corpus (docs/scheduling.md)."""

    enabled: bool = False
    reprocess: bool = False
    lock_stale_after_s: int = 86_400
    state: str | None = None


@dataclass(frozen=True)
class WatchConfig:
    """`watch`: how a watched folder is polled and its arrivals batched (docs/streaming.md)."""

    poll_interval_s: float = 0.5
    settle_s: float = 1.0
    idle_timeout_s: float | None = None
    max_batch_files: int = 5_000
    max_batch_bytes: int = 256_000_000
    report_every_s: float = 300.0


@dataclass(frozen=True)
class Config:
    input: str | None = None
    output: str | None = None
    read: ReadConfig = field(default_factory=ReadConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)
    tag: TagConfig = field(default_factory=TagConfig)
    language: LanguageConfig = field(default_factory=LanguageConfig)
    write: WriteConfig = field(default_factory=WriteConfig)
    incremental: IncrementalConfig = field(default_factory=IncrementalConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    max_dead_letter_ratio: float = 1.0
    progress: bool = True
    beam: dict[str, Any] = field(
        default_factory=lambda: {
            "runner": "DirectRunner",
            "direct_running_mode": "multi_processing",
            "direct_num_workers": 0,
            "default_sdk_harness_log_level": "WARNING",
        }
    )


def load_config(path: str | None = None, overrides: list[str] = ()) -> Config:
    """Read a YAML file (or the built-in defaults), apply `key.path=value` overrides, and validate."""
    origin = path or "built-in defaults"
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as error:
            raise ConfigError(f"{path}: cannot read config file: {error.strerror}") from error
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: invalid YAML: {error}") from error
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of keys, not {type(data).__name__}")
    for override in overrides:
        _build(Config, _apply_override({}, override), "", f"--set {override}")  # a mistake in it is named as given
        _apply_override(data, override)
    config = _build(Config, data, "", origin)
    # Given `tag.models` entries add to (or, as null, remove) the pipelines of installed extras.
    config = dataclasses.replace(config, tag=dataclasses.replace(config.tag, models=language_models(config.tag.models)))
    _check(config, origin)
    return config


def _apply_override(data: dict[str, Any], override: str) -> dict[str, Any]:
    key, sep, raw = override.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {override!r}: expected KEY=VALUE, e.g. tag.batch_size=32")
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {override!r}: {part!r} is not a section")
    try:
        node[leaf] = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {override!r}: invalid value: {error}") from error
    return data


def _build(cls: type, data: Any, prefix: str, origin: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: {prefix.rstrip('.') or 'top level'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{origin}: unknown key {prefix + str(unknown[0])!r} (known: {', '.join(sorted(names))})")
    values = {name: _convert(hints[name], value, prefix + name, origin) for name, value in data.items()}
    return cls(**values)


def _convert(hint: Any, value: Any, key: str, origin: str) -> Any:
    origin_type = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key + ".", origin)
    if origin_type in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (hint,) = [option for option in options if option is not type(None)]
        return _convert(hint, value, key, origin)
    if origin_type is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{origin}: {key}: expected a list, got {value!r}")
        item = typing.get_args(hint)[0]
        return tuple(_convert(item, v, f"{key}[{i}]", origin) for i, v in enumerate(value))
    if origin_type is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{origin}: {key}: expected a mapping, got {value!r}")
        return dict(value)
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"{origin}: {key}: expected true or false, got {value!r}")
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{origin}: {key}: expected a whole number, got {value!r}")
    if hint is str and not isinstance(value, str):
        raise ConfigError(f"{origin}: {key}: expected a string, got {value!r}")
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{origin}: {key}: expected a number, got {value!r}")
        return float(value)
    return value


def _check(config: Config, origin: str) -> None:
    positive = {
        "read.title_max_chars": config.read.title_max_chars >= 0,
        "read.max_article_bytes": config.read.max_article_bytes > 0,
        "read.max_file_bytes": config.read.max_file_bytes > 0,
        "read.max_decompressed_bytes": config.read.max_decompressed_bytes > 0,
        "read.web.page_timeout_s": config.read.web.page_timeout_s > 0,
        "read.web.max_page_bytes": config.read.web.max_page_bytes > 0,
        "read.web.worker_memory_mb": config.read.web.worker_memory_mb >= 0,
        "read.web.reset_caches_every": config.read.web.reset_caches_every > 0,
        "tag.batch_size": config.tag.batch_size > 0,
        "tag.max_chunk_chars": 0 < config.tag.max_chunk_chars <= 1_000_000,
        "tag.vocab_zone_chars": config.tag.vocab_zone_chars > 0,
        "write.num_shards": config.write.num_shards >= 0,
        "clean.corpus_boilerplate.min_articles": config.clean.corpus_boilerplate.min_articles >= 2,
        "incremental.lock_stale_after_s": config.incremental.lock_stale_after_s > 0,
        "watch.poll_interval_s": config.watch.poll_interval_s > 0,
        "watch.settle_s": config.watch.settle_s >= 0,
        "watch.idle_timeout_s": config.watch.idle_timeout_s is None or config.watch.idle_timeout_s >= 0,
        "watch.max_batch_files": config.watch.max_batch_files > 0,
        "watch.max_batch_bytes": config.watch.max_batch_bytes > 0,
        "watch.report_every_s": config.watch.report_every_s >= 0,
        "max_dead_letter_ratio": 0.0 <= config.max_dead_letter_ratio <= 1.0,
    }
    for key, ok in positive.items():
        if not ok:
            raise ConfigError(f"{origin}: {key}: value out of range")
    _check_dedup(config.dedup, origin)
    names = [rule.name for rule in config.clean.rules]
    for index, rule in enumerate(config.clean.rules):
        if names.count(rule.name) > 1:
            raise ConfigError(f"{origin}: clean.rules[{index}].name: duplicate rule name {rule.name!r}")
        try:
            re.compile(rule.pattern)
        except re.error as error:
            raise ConfigError(f"{origin}: clean.rules[{index}].pattern: invalid regex: {error}") from error
    for key, value in config.beam.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise ConfigError(f"{origin}: beam.{key}: Beam option names are snake_case words")
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{origin}: beam.{key}: expected a single value, got {value!r}")
    if not model_exists(config.tag.model):
        raise ConfigError(
            f"{origin}: tag.model: {config.tag.model!r} is neither an installed spaCy pipeline package nor a "
            "pipeline folder (pip install the model package, or give a path)"
        )
    _check_languages(config, origin)


def _check_languages(config: Config, origin: str) -> None:
    language = config.language
    if not 0 < language.prefix_chars <= 1_000_000:
        raise ConfigError(f"{origin}: language.prefix_chars: value out of range")
    if language.min_chars < 0:
        raise ConfigError(f"{origin}: language.min_chars: value out of range")
    for key in ("min_score", "route_min_score", "route_min_running_share", "fallback_min_score", "fallback_min_ratio"):
        if not 0.0 <= getattr(language, key) <= 1.0:
            raise ConfigError(f"{origin}: language.{key}: value out of range")
    for key, codes in (("language.candidates", language.candidates), ("language.keep", language.keep)):
        for index, code in enumerate(codes):
            if not re.fullmatch(r"[a-z]{2,3}", code):
                raise ConfigError(f"{origin}: {key}[{index}]: {code!r} is not a lower-case language code like 'fr'")
    if language.candidates:
        try:
            load_identifier(language.candidates)
        except ValueError as error:
            raise ConfigError(f"{origin}: language.candidates: {error}") from error
    for code, model in config.tag.models.items():
        if not isinstance(code, str) or not re.fullmatch(r"[a-z]{2,3}", code):
            raise ConfigError(
                f"{origin}: tag.models.{code}: keys are lower-case language codes like 'fr' (quote 'no' in YAML)"
            )
        if not isinstance(model, str) or not model_exists(model):
            raise ConfigError(
                f"{origin}: tag.models.{code}: {model!r} is neither an installed spaCy pipeline package nor a "
                "pipeline folder (pip install the model package, or give a path)"
            )


def _check_dedup(dedup: DedupConfig, origin: str) -> None:
    if not 0.0 < dedup.threshold <= 1.0:
        raise ConfigError(f"{origin}: dedup.threshold: expected a Jaccard similarity above 0 and at most 1")
    if not (0 < dedup.bands <= 1000 and 0 < dedup.rows <= 1000 and 0 <= dedup.seed < 2**32):
        raise ConfigError(f"{origin}: dedup.bands, dedup.rows, dedup.seed: value out of range")
    found = find_probability(dedup.threshold, dedup.bands, dedup.rows)
    if found < 0.99:
        raise ConfigError(
            f"{origin}: dedup.bands: {dedup.bands} bands of {dedup.rows} rows find pairs at dedup.threshold "
            f"{dedup.threshold} with probability {found:.3f}; at least 0.99 is needed (more bands or fewer rows)"
        )
