"""The pipeline's composite transforms: read, clean, know the corpus, tag and write articles."""

from transforms.clean_articles import CleanArticles
from transforms.cluster_duplicates import ClusterDuplicates
from transforms.identify_language import IdentifyLanguage
from transforms.read_articles import ReadArticles
from transforms.strip_corpus_boilerplate import StripCorpusBoilerplate
from transforms.tag_entities import TagEntities
from transforms.write_enriched import WriteEnriched

__all__ = [
    "CleanArticles",
    "ClusterDuplicates",
    "IdentifyLanguage",
    "ReadArticles",
    "StripCorpusBoilerplate",
    "TagEntities",
    "WriteEnriched",
]
