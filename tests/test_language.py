"""Language identification, routing of languages to pipelines, and a mixed-language run with the network off."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.cli import main
from pipeline.config import ConfigError, load_config
from transforms import TagEntities
from transforms.core.entities import TagConfig
from transforms.core.language import (
    Identified,
    LanguageConfig,
    identify,
    load_identifier,
    route,
    routed_language,
    running_share,
)
from transforms.core.types import Article, Source
from transforms.identify_language import IdentifyLanguage

from .conftest import ROOT, read_shards

SOURCE = Source(uri="/c/a.txt", path="a.txt", format="txt", bytes=10)
TEXTS = {
    "en": "Joe Biden visited Geneva on Monday to meet European leaders about trade and security.",
    "fr": "Emmanuel Macron a reçu hier à Paris les représentants des syndicats pour discuter de la réforme.",
    "de": "Die Bundesregierung hat am Montag in Berlin neue Maßnahmen gegen die hohen Energiepreise beschlossen.",
    "zh": "国家统计局今天发布的数据显示，今年前三季度全国居民人均可支配收入比上年同期名义增长。",
}
LIMITS = {"prefix_chars": 2000, "min_chars": 10, "min_score": 0.3}
# English results tables: their names outweigh their few English words, and the identifier calls them Javanese
# or Dutch.
TABLES = {
    "badminton": (
        "BADMINTON - GENEVA OPEN RESULTS\n\nResults of second round matches at the Geneva Open on Tuesday:\n\n"
        "Hendra Wijaya (Indonesia) beat Budi Santoso (Indonesia) 15-7 15-11\n"
        "Taufik Hidayat (Indonesia) beat Rashid Sidek (Malaysia) 15-12 17-14\n"
        "Joko Suprianto (Indonesia) beat Sun Jun (China) 15-9 15-4\n"
        "Susi Susanti (Indonesia) beat Mia Audina (Indonesia) 11-4 11-7\n"
    ),
    "football": (
        "SOCCER - DUTCH LEAGUE RESULTS\n\nResults of Dutch first division matches on Sunday:\n\n"
        "Vitesse Arnhem 2 Roda JC Kerkrade 1\nHeerenveen 0 Willem II Tilburg 0\nSparta Rotterdam 3 NAC Breda 1\n"
        "Fortuna Sittard 1 Feyenoord 2\nGroningen 2 De Graafschap Doetinchem 2\nTwente Enschede 1 Volendam 0\n"
    ),
}


@pytest.fixture(scope="module")
def identifier():
    return load_identifier()


@pytest.fixture(scope="module")
def french_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A blank French pipeline with an entity ruler, saved to disk."""
    import spacy

    nlp = spacy.blank("fr")
    nlp.add_pipe("entity_ruler").add_patterns(
        [{"label": "PER", "pattern": "Emmanuel Macron"}, {"label": "LOC", "pattern": "Paris"}]
    )
    path = tmp_path_factory.mktemp("models") / "fr_ner"
    nlp.to_disk(path)
    return str(path)


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_each_language_is_identified(identifier, language):
    found = identify(identifier, TEXTS[language], **LIMITS)
    assert found.language == language
    assert 0.3 <= found.score <= 1.0


def test_only_a_prefix_is_read(identifier):
    text = TEXTS["en"] + " " + TEXTS["de"] * 200
    assert identify(identifier, text, **{**LIMITS, "prefix_chars": len(TEXTS["en"])}).language == "en"
    assert identify(identifier, text, **LIMITS).language == "de"


def test_short_or_unsure_texts_are_undetermined(identifier):
    assert identify(identifier, "OK. 2024-05-01, 15:30 (+2.5%)", **LIMITS) == Identified("und", 0.0)
    unsure = identify(identifier, "Tokyo Paris", **{**LIMITS, "min_chars": 0})
    assert unsure.language == "und" and 0 < unsure.score < 0.3
    assert identify(identifier, "Tokyo Paris", **{**LIMITS, "min_chars": 0, "min_score": 0.0}).language != "und"


def test_only_iso_639_1_codes_unless_candidates_are_named():
    assert all(len(code) == 2 for code in load_identifier().nb_classes)
    assert set(load_identifier(["fr", "de"]).nb_classes) == {"fr", "de"}
    with pytest.raises(ValueError, match="xx"):
        load_identifier(["xx"])


def test_running_share_is_the_share_of_letters_in_lines_of_prose():
    assert running_share(TEXTS["en"]) == running_share(TEXTS["de"]) == running_share(TEXTS["zh"]) == 1.0
    assert running_share("Vitesse Arnhem 2 Roda JC Kerkrade 1\nHeerenveen 0 Willem II Tilburg 0") == 0.0
    # 24 letters in a line of prose (3 of its 5 words in lower case), 23 in a row of names.
    assert running_share("Results of matches on Sunday:\nSparta Rotterdam 3 NAC Breda 1") == 24 / 47
    assert running_share("2-1 (0-0)") == running_share("") == 0.0


def test_another_language_needs_a_confident_score_and_running_text():
    config = LanguageConfig()
    assert routed_language(Identified("fr", 0.99, 0.0), 1.0, config) == "fr"
    assert routed_language(Identified("fr", 0.99, 0.2), 0.9, config) == "fr"
    # A table that leaves English a chance, or unsure prose as likely English as anything, goes to the default model.
    assert routed_language(Identified("jv", 0.54, 0.19), 0.1, config) == "en"
    assert routed_language(Identified("nl", 0.45, 0.3), 1.0, config) == "en"
    assert routed_language(Identified("und", 0.12, 0.12), 1.0, config) == "en"
    # Unsure prose in which English is far less likely than another language keeps that language.
    assert routed_language(Identified("und", 0.283, 0.0103), 1.0, config) == "und"
    assert routed_language(Identified("sv", 0.4196, 0.0125), 1.0, config) == "sv"
    assert routed_language(Identified("sv", 0.4196, 0.0125), 0.0, config) == "en"  # the same scores on a table
    # Where the identifier all but rules English out, the identified language decides, evidence or not.
    assert routed_language(Identified("ru", 0.99, 0.0), 0.2, config) == "ru"
    assert routed_language(Identified("und", 0.2, 0.001), 1.0, config) == "und"
    assert routed_language(Identified("und", 0.0), 0.0, config) == "und"
    assert routed_language(Identified("en", 0.31, 0.31), 0.0, config) == "en"
    strict = LanguageConfig(fallback_min_score=1.0)
    assert routed_language(Identified("jv", 0.54, 0.19), 0.1, strict) == "jv"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_english_tables_of_names_stay_with_the_default_model(identifier, name):
    found = identify(identifier, TABLES[name], **LIMITS)
    assert found.language not in ("en", "und") and found.english > 0.05
    assert routed_language(found, running_share(TABLES[name]), LanguageConfig()) == "en"


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_prose_goes_by_its_language(identifier, language):
    found = identify(identifier, TEXTS[language], **LIMITS)
    assert routed_language(found, running_share(TEXTS[language]), LanguageConfig()) == language


def test_routing():
    models = {"fr": "/m/fr"}
    assert route("fr", "en_model", models, tag_undetermined=False) == "/m/fr"
    assert route("en", "en_model", models, tag_undetermined=False) == "en_model"
    assert route("en", "en_model", {"en": "/m/en"}, tag_undetermined=False) == "/m/en"
    assert route("de", "en_model", models, tag_undetermined=True) is None
    assert route("und", "en_model", models, tag_undetermined=False) is None
    assert route("und", "en_model", models, tag_undetermined=True) == "en_model"


def test_identification_needs_no_network(identifier, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("the network is switched off")

    monkeypatch.setattr("socket.socket.connect", refuse)
    monkeypatch.setattr("socket.create_connection", refuse)
    assert identify(load_identifier(), TEXTS["fr"], **LIMITS).language == "fr"


def test_language_keep_dead_letters_the_other_languages():
    articles = [Article(id=code, source=SOURCE, text=text) for code, text in {**TEXTS, **TABLES}.items()]
    with TestPipeline() as p:
        kept, dead = p | beam.Create(articles) | IdentifyLanguage(LanguageConfig(keep=("en", "fr", "jv")))
        assert_that(
            kept | beam.Map(lambda a: (a.id, a.language, a.route_language)),
            equal_to([("en", "en", "en"), ("fr", "fr", "fr"), ("badminton", "jv", "en")]),
            label="Kept",
        )
        assert_that(
            dead | beam.Map(lambda d: (d.article_id, d.stage, d.reason)),
            equal_to(
                [
                    ("de", "language", "language_filtered"),
                    ("zh", "language", "language_filtered"),
                    ("football", "language", "language_filtered"),
                ]
            ),
            label="Filtered",
        )


TITLE_EN = (("Biden", "PERSON", "Biden"), ("Geneva", "GPE", "Geneva"))
# The French ruler's CoNLL labels (PER, LOC) come out as the record's (PERSON, GPE), and "Macron" in the title
# is the surname of the text's "Emmanuel Macron", as for English.
TITLE_FR = (("Macron", "PERSON", "Macron"), ("Paris", "GPE", "Paris"))


def test_each_article_is_tagged_by_its_languages_model_only_when_needed(tiny_model, french_model):
    def article(code: str, language: str, title: str | None = None, route: str | None = None) -> Article:
        text = {**TEXTS, **TABLES}[code]
        return Article(id=code, source=SOURCE, text=text, title=title, language=language, route_language=route)

    articles = [
        article("en", "en", title="Biden in Geneva"),
        article("fr", "fr", title="Macron à Paris"),
        article("de", "de"),
        article("zh", "und"),
        # Identified as Javanese on too little evidence: the default model tags it, its language stays.
        article("badminton", "jv", route="en"),
    ]
    config = TagConfig(model=tiny_model, models={"fr": french_model}, batch_size=4)
    with TestPipeline() as p:
        tagged, dead = p | beam.Create(articles) | TagEntities(config)
        assert_that(
            tagged
            | beam.Map(
                lambda a: (
                    a.id,
                    (a.model or {}).get("name"),
                    tuple((e.text, e.label) for e in a.entities),
                    tuple((e.text, e.label, a.title[e.start : e.end]) for e in a.title_entities),
                    a.ner_skipped,
                )
            ),
            equal_to(
                [
                    # "Biden" in the title: the surname of the text's "Joe Biden", which the ruler alone misses.
                    ("en", "en_pipeline", (("Joe Biden", "PERSON"), ("Geneva", "GPE")), TITLE_EN, None),
                    ("fr", "fr_pipeline", (("Emmanuel Macron", "PERSON"), ("Paris", "GPE")), TITLE_FR, None),
                    ("de", None, (), (), "no_model_for_language"),
                    ("zh", None, (), (), "language_undetermined"),
                    ("badminton", "en_pipeline", (("GENEVA", "GPE"), ("Geneva", "GPE")), (), None),
                ]
            ),
            label="Tagged",
        )
        assert_that(dead, equal_to([]), label="NoDeadLetters")


def test_a_model_no_article_needs_is_never_loaded():
    german = [Article(id="de", source=SOURCE, text=TEXTS["de"], language="de")]
    config = TagConfig(model="/no/such/model", models={"fr": "/no/such/french/model"})
    with TestPipeline() as p:
        tagged, _ = p | beam.Create(german) | TagEntities(config)
        assert_that(tagged | beam.Map(lambda a: (a.id, a.ner_skipped)), equal_to([("de", "no_model_for_language")]))


def test_tag_models_override_is_a_checked_mapping(tmp_path, french_model, capsys):
    assert load_config(None, [f"tag.models.fr={french_model}"]).tag.models == {"fr": french_model}
    config = tmp_path / "my.yaml"
    config.write_text("tag:\n  models:\n    no: /x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"my.yaml: tag.models.False: keys are lower-case language codes"):
        load_config(str(config))
    config.write_text("language:\n  keep: [EN]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"my.yaml: language.keep\[0\]: 'EN' is not"):
        load_config(str(config))
    config.write_text("{}\n", encoding="utf-8")
    argv = ["run", "--input", str(tmp_path), "--output", str(tmp_path / "out"), "--config", str(config)]
    assert main([*argv, "--set", f"tag.models.de={tmp_path / 'missing'}"]) == 2
    assert f"my.yaml: tag.models.de: '{tmp_path / 'missing'}' is neither" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


OFFLINE_RUN = """
import socket, sys

def refuse(self, address, *args):
    if self.family != socket.AF_UNIX and address[0] not in ("127.0.0.1", "::1", "localhost"):
        raise OSError(f"the network is switched off: {address}")
    return connect(self, address, *args)

connect = socket.socket.connect
socket.socket.connect = refuse
from pipeline.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_mixed_language_corpus_offline(tmp_path, tiny_model, french_model, record_validators):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for code, text in TEXTS.items():
        (corpus / f"{code}.txt").write_text(text + "\n\n" + text + "\n", encoding="utf-8")
    (corpus / "en-2.txt").write_text("Elena Ruiz in Budapest\n\n" + TEXTS["en"] + "\n", encoding="utf-8")
    (corpus / "short.txt").write_text("OK, 2024.\n", encoding="utf-8")
    (corpus / "table.txt").write_text(TABLES["badminton"], encoding="utf-8")
    output = tmp_path / "out"
    command = [sys.executable, "-c", textwrap.dedent(OFFLINE_RUN), "run", "--input", str(corpus)]
    command += ["--output", str(output), "--model", tiny_model, "--set", f"tag.models.fr={french_model}"]
    command += ["--set", "beam.direct_running_mode=in_memory"]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]

    enriched_validator, _ = record_validators
    records = {Path(r["source"]["path"]).stem: r for r in read_shards(output, "enriched")}
    for record in records.values():
        enriched_validator.validate(record)
    assert {stem: r["language"] for stem, r in records.items()} == {
        "en": "en", "en-2": "en", "fr": "fr", "de": "de", "zh": "zh", "short": "und", "table": "jv"
    }
    assert records["fr"]["model"]["name"] == "fr_pipeline"
    french = {(e["text"], e["label"]) for e in records["fr"]["entities"]}
    assert french == {("Emmanuel Macron", "PERSON"), ("Paris", "GPE")}
    assert records["en-2"]["title_entities"] == [
        {"text": "Elena Ruiz", "label": "PERSON", "start": 0, "end": 10},
        {"text": "Budapest", "label": "GPE", "start": 14, "end": 22},
    ]
    # The results table keeps its identified language and is tagged by the default model, title included.
    table = records["table"]
    assert table["model"]["name"] == "en_pipeline" and table["ner"] is None
    assert [e["text"] for e in table["entities"] + table["title_entities"]] == ["Geneva", "GENEVA"]
    for stem in ("de", "zh", "short"):
        assert (records[stem]["entities"], records[stem]["model"]) == ([], None)
    assert records["de"]["ner"] == {"skipped": "no_model_for_language"}
    assert records["short"]["ner"] == {"skipped": "language_undetermined"}
    summary = json.loads((output / "run-summary.json").read_text(encoding="utf-8"))
    assert summary["languages"] == {"de": 1, "en": 2, "fr": 1, "jv": 1, "und": 1, "zh": 1}
    assert summary["ner_skipped_by_language"] == {"de": 1, "und": 1, "zh": 1}
    assert (summary["counts"]["tagged"], summary["counts"]["language_fallback"]) == (4, 1)
    assert summary["invariant_ok"] is True
