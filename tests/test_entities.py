"""Entity extraction: chunking long texts and stitching offsets back, with a tiny real pipeline."""

import spacy
from hypothesis import given
from hypothesis import strategies as st

from transforms.core.entities import RECORD_LABELS, Tagger, chunk_spans, record_labels, tag_texts
from transforms.core.nlp import load_ner_pipeline, needless_components


def test_chunks_cover_the_text_and_prefer_paragraph_breaks():
    text = "First paragraph here.\n\nSecond paragraph is here.\n\nThird one."
    spans = chunk_spans(text, 30)
    assert "".join(text[a:b] for a, b in spans) == text
    assert all(b - a <= 30 for a, b in spans)
    assert text[spans[0][0] : spans[0][1]] == "First paragraph here.\n\n"


@given(st.text(min_size=0, max_size=300), st.integers(min_value=1, max_value=50))
def test_chunks_always_cover_the_text_within_the_limit(text, limit):
    spans = chunk_spans(text, limit)
    assert "".join(text[a:b] for a, b in spans) == text
    assert all(0 < b - a <= limit for a, b in spans) or text == ""


def test_offsets_slice_to_the_entity_text_across_chunks(tiny_model):
    nlp = spacy.load(tiny_model)
    paragraph = "Joe Biden flew to Geneva on Monday. "
    text = "\n\n".join([paragraph * 3] * 40)
    (whole,) = tag_texts(nlp, [text], max_chunk_chars=1_000_000, batch_size=8)
    (chunked,) = tag_texts(nlp, [text], max_chunk_chars=500, batch_size=8)
    assert chunked == whole
    assert len(whole) == 240
    assert all(text[e.start : e.end] == e.text for e in chunked)


def test_labels_filter_and_batch_order(tiny_model):
    nlp = spacy.load(tiny_model)
    texts = ["Elena Ruiz met Reuters.", "", "Budapest and Geneva."]
    results = tag_texts(nlp, texts, max_chunk_chars=1000, batch_size=2, labels=frozenset({"GPE"}))
    assert [[e.text for e in r] for r in results] == [[], [], ["Budapest", "Geneva"]]


def test_conll_labels_become_the_records_and_ontonotes_labels_stay():
    conll = spacy.blank("fr")
    conll.add_pipe("entity_ruler").add_patterns(
        [{"label": label, "pattern": pattern} for pattern, label in
         (("Jacques Chirac", "PER"), ("Renault", "ORG"), ("Lyon", "LOC"), ("Alpes", "LOC"), ("Tour de France", "MISC"))]
    )
    text = "Jacques Chirac, Renault et le Tour de France à Lyon, dans les Alpes."
    (entities,) = tag_texts(conll, [text], max_chunk_chars=1000, batch_size=2)
    assert [(e.text, e.label) for e in entities] == [
        ("Jacques Chirac", "PERSON"), ("Renault", "ORG"), ("Tour de France", "MISC"), ("Lyon", "GPE"), ("Alpes", "GPE")
    ]
    assert all(text[e.start : e.end] == e.text for e in entities)
    (people,) = tag_texts(conll, [text], max_chunk_chars=1000, batch_size=2, labels=frozenset({"PERSON"}))
    assert [e.text for e in people] == ["Jacques Chirac"]
    assert record_labels(conll) == RECORD_LABELS == {"PER": "PERSON", "ORG": "ORG", "LOC": "GPE", "MISC": "MISC"}

    ontonotes = spacy.blank("en")
    ontonotes.add_pipe("entity_ruler").add_patterns([{"label": "LOC", "pattern": "Alps"}])
    (entities,) = tag_texts(ontonotes, ["Snow in the Alps."], max_chunk_chars=1000, batch_size=2)
    assert [(e.text, e.label) for e in entities] == [("Alps", "LOC")] and record_labels(ontonotes) == {}


def test_only_components_ner_needs_are_kept(tiny_model):
    assert load_ner_pipeline(tiny_model).pipe_names == ["entity_ruler"]
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "upstream": "shared"}
    config = {
        "nlp": {"pipeline": ["shared", "other", "tagger", "ner", "sentencizer"]},
        "components": {
            "shared": {"factory": "tok2vec"},
            "other": {"factory": "tok2vec"},
            "tagger": {"factory": "tagger", "model": {"tok2vec": listener}},
            "ner": {"factory": "ner", "model": {"tok2vec": listener}},
            "sentencizer": {"factory": "sentencizer"},
        },
    }
    assert needless_components(config) == ["other", "tagger", "sentencizer"]
    assert needless_components(config, keep=("sentencizer",)) == ["other", "tagger"]


def test_tagger_keeps_the_first_words_and_frees_later_ones_zone_by_zone(tiny_model):
    import spacy

    nlp = spacy.load(tiny_model)
    tagger = Tagger(nlp, zone_chars=100)
    texts = [f"Joe Biden met Wordy{i} in Geneva." for i in range(10)]  # 32-33 characters each
    sizes = []
    for text in texts:
        (entities,) = tagger.tag([text], max_chunk_chars=1000, batch_size=8)
        assert [e.text for e in entities] == ["Joe Biden", "Geneva"]
        sizes.append(len(nlp.vocab.strings))
    # Texts 1-4 (100+ characters) warm up outside any zone; a zone closed after text 8; 9 and 10 are in the open one.
    assert [f"Wordy{i}" in nlp.vocab.strings for i in range(10)] == [True] * 4 + [False] * 4 + [True] * 2
    assert sizes[3] == sizes[7] < sizes[9]
