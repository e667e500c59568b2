"""The pipeline's composite transforms: read, clean, know the corpus, tag and write articles.

They are imported when first named, so that `transforms.core` (the Beam-free logic) loads without Beam.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "CleanArticles": "transforms.clean_articles",
    "ClusterDuplicates": "transforms.cluster_duplicates",
    "IdentifyLanguage": "transforms.identify_language",
    "ReadArticles": "transforms.read_articles",
    "StripCorpusBoilerplate": "transforms.strip_corpus_boilerplate",
    "TagEntities": "transforms.tag_entities",
    "WriteEnriched": "transforms.write_enriched",
}
__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name]), name)
