"""IndexEntities: one line per entity group across the corpus, combined per (label, name) so that it scales."""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam

from transforms.core.entity_index import EntityStats, Key, distinct_groups, index_line
from transforms.core.records import to_json_line
from transforms.core.types import Article


class IndexEntities(beam.PTransform):
    """Enriched articles to `entities-*.jsonl` lines: name, label, articles, mentions, example ids."""

    def expand(self, articles):
        return (
            articles
            | "EntityGroups" >> beam.FlatMap(_entity_groups)
            | "CombinePerEntity" >> beam.CombinePerKey(_EntityStatsFn())
            | "IndexLines" >> beam.MapTuple(lambda key, stats: to_json_line(index_line(key, stats)))
        )


def _entity_groups(article: Article) -> Iterable[tuple[Key, tuple[str, int]]]:
    groups = ((g.label, g.name, len(g.mentions) + len(g.title_mentions)) for g in article.entity_groups)
    for key, mentions in distinct_groups(groups):
        yield key, (article.id, mentions)


class _EntityStatsFn(beam.CombineFn):
    def create_accumulator(self) -> EntityStats:
        return EntityStats()

    def add_input(self, stats: EntityStats, element: tuple[str, int]) -> EntityStats:
        article_id, mentions = element
        stats.add(article_id, mentions)
        return stats

    def merge_accumulators(self, accumulators: Iterable[EntityStats]) -> EntityStats:
        merged = EntityStats()
        for stats in accumulators:
            merged.merge(stats)
        return merged

    def extract_output(self, stats: EntityStats) -> EntityStats:
        return stats
