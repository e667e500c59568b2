"""Loading a spaCy pipeline with only the components named-entity recognition needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

NER_FACTORIES = frozenset({"ner", "beam_ner", "entity_ruler", "span_ruler", "entity_linker"})
EMBEDDING_FACTORIES = frozenset({"tok2vec", "transformer", "curated_transformer"})


def model_exists(name: str) -> bool:
    """Whether `name` is an installed spaCy pipeline package or a pipeline folder."""
    import spacy.util

    return spacy.util.is_package(name) or (Path(name) / "config.cfg").is_file()


def model_info(name: str) -> dict[str, str]:
    """The pipeline's name and version from its meta.json, without loading it."""
    import spacy.util

    folder = spacy.util.get_package_path(name) if spacy.util.is_package(name) else Path(name)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return {"name": f"{meta.get('lang', 'xx')}_{meta.get('name', Path(name).name)}", "version": meta["version"]}


def load_ner_pipeline(name: str, keep: tuple[str, ...] = ()) -> Language:
    """Load a pipeline and drop every component that entity recognition does not use."""
    import spacy

    nlp = spacy.load(name)
    for pipe_name in needless_components(nlp, keep):
        nlp.remove_pipe(pipe_name)
    return nlp


def needless_components(nlp: Language, keep: tuple[str, ...] = ()) -> list[str]:
    """Components that neither recognise entities nor feed an entity recogniser."""
    ner = {name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory in NER_FACTORIES}
    ner.update(keep)
    feeding = {
        name
        for name in nlp.pipe_names
        if nlp.get_pipe_meta(name).factory in EMBEDDING_FACTORIES
        and ner & set(getattr(nlp.get_pipe(name), "listening_components", ()))
    }
    return [name for name in nlp.pipe_names if name not in ner | feeding]
