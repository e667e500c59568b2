"""Loading a spaCy pipeline with only the components named-entity recognition needs."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language

NER_FACTORIES = frozenset({"ner", "beam_ner", "entity_ruler", "span_ruler", "entity_linker"})
EMBEDDING_FACTORIES = frozenset({"tok2vec", "transformer", "curated_transformer"})


def model_exists(name: str) -> bool:
    """Whether `name` is an installed spaCy pipeline package or a pipeline folder."""
    return package_folder(name) is not None or (Path(name) / "config.cfg").is_file()


def package_folder(name: str) -> Path | None:
    """The folder of the installed pipeline package `name`, or None; found without importing it or spaCy
    (the launcher of a multi-process run never needs spaCy, and importing it takes about a second)."""
    try:
        metadata.distribution(name)
        spec = importlib.util.find_spec(name)
    except Exception:  # noqa: BLE001 - a path or any other non-package name, as spacy.util.is_package treats it
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def model_info(name: str) -> dict[str, str]:
    """The pipeline's name and version from its meta.json, without loading it."""
    folder = package_folder(name) or Path(name)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return {"name": f"{meta.get('lang', 'xx')}_{meta.get('name', Path(name).name)}", "version": meta["version"]}


def load_ner_pipeline(name: str, keep: tuple[str, ...] = ()) -> Language:
    """Load a pipeline without the components that entity recognition does not use (never even read)."""
    import spacy

    return spacy.load(name, exclude=needless_components(pipeline_config(name), keep))


def pipeline_config(name: str) -> dict[str, Any]:
    """The pipeline's config.cfg, read without loading any weights."""
    import spacy.util

    if spacy.util.is_package(name):
        meta = json.loads((spacy.util.get_package_path(name) / "meta.json").read_text(encoding="utf-8"))
        folder = spacy.util.get_package_path(name) / f"{meta['lang']}_{meta['name']}-{meta['version']}"
    else:
        folder = Path(name)
    return spacy.util.load_config(folder / "config.cfg", interpolate=False)


def needless_components(config: dict[str, Any], keep: tuple[str, ...] = ()) -> list[str]:
    """Components that neither recognise entities nor feed an entity recogniser through a listener."""
    components = config["components"]
    names = list(config["nlp"]["pipeline"])
    needed = {name for name in names if components[name].get("factory") in NER_FACTORIES} | set(keep)
    for name in list(needed):
        for upstream in _listened_to(components.get(name, {})):
            needed.update(
                other for other in names
                if components[other].get("factory") in EMBEDDING_FACTORIES and upstream in ("*", other)
            )
    return [name for name in names if name not in needed]


def _listened_to(node: Any) -> Iterator[str]:
    """The `upstream` names of every listener layer inside a component's model config."""
    if isinstance(node, dict):
        if "Listener" in str(node.get("@architectures", "")):
            yield str(node.get("upstream", "*"))
        for value in node.values():
            yield from _listened_to(value)
