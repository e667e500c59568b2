"""The corpus store: the ledger, line counts and signatures of committed runs, applied and replaced by input."""

from __future__ import annotations

import json

from transforms.core.dedup import Node, signatures
from transforms.core.records import signature_record
from transforms.core.store import CorpusStore, StoreReader
from transforms.core.types import Duplicate

PARAMS = {"algorithm": "test", "bands": 20, "rows": 6, "seed": 1}
TEXT = "The council said on Tuesday that the harbour bridge will close for repairs in March next year."


def _lines(uri: str, *keys: str) -> str:
    return json.dumps({"source": {"uri": uri}, "lines": list(keys)})


def _signature_line(ident: str, uri: str, text: str, cluster: str | None = None) -> str:
    (sig,) = signatures([(Node(ident, len(text)), uri, text)], 20, 6, 1)
    duplicate = Duplicate(cluster or ident, 1 if cluster is None else 2, None if cluster is None else "exact", 1.0)
    return json.dumps(signature_record(sig, duplicate, PARAMS))


def _manifest(run: str, sequence: int, *uris: str) -> dict:
    inputs = {uri: {"size": 10, "checksum": f"sha256:{uri}", "mtime": 1.5} for uri in uris}
    return {"run": run, "sequence": sequence, "fingerprint": "f1", "inputs": inputs}


KEY_A, KEY_B = "aa" * 12, "bb" * 12


def test_a_run_adds_its_inputs_counts_and_signatures_once(tmp_path):
    store = CorpusStore(str(tmp_path / "s.sqlite"))
    lines = [_lines("/c/1.txt", KEY_A, KEY_B), _lines("/c/2.txt", KEY_A)]
    sigs = [_signature_line("one", "/c/1.txt", TEXT)]
    store.apply_run(_manifest("run=1", 1, "/c/1.txt", "/c/2.txt"), lines, sigs)
    store.apply_run(_manifest("run=1", 1, "/c/1.txt", "/c/2.txt"), lines, sigs)  # applying again: no change

    assert store.runs() == {"run=1": 1} and store.last_run() == "run=1"
    assert store.ledger(["/c/1.txt", "/c/9.txt"]) == {
        "/c/1.txt": {"size": 10, "mtime": 1.5, "checksum": "sha256:/c/1.txt", "fingerprint": "f1", "run": "run=1"}
    }
    assert store.known_inputs() == 2
    reader = StoreReader(store.path)
    assert reader.line_counts([KEY_A, KEY_B, "cc" * 12]) == {KEY_A: 2, KEY_B: 1}
    assert reader.line_keys_of(["/c/2.txt"]) == {KEY_A: 1}
    (found,) = signatures([(Node("new", len(TEXT)), "/c/new.txt", TEXT)], 20, 6, 1)
    (earlier,) = reader.signatures_sharing([found.text_key], found.bands[:1])
    assert (earlier.node.id, earlier.uri, earlier.node.earlier) == ("one", "/c/1.txt", Duplicate("one", 1, None, 1.0))
    assert earlier.bands == found.bands and earlier.shingles == found.shingles
    assert list(reader.signatures_sharing([found.text_key], [], excluding=frozenset({"/c/1.txt"}))) == []
    assert list(reader.signatures_sharing(["00" * 16], [1, 2, 3])) == []
    reader.close()


def test_a_later_run_replaces_the_evidence_of_the_inputs_it_processes_again(tmp_path):
    store = CorpusStore(str(tmp_path / "s.sqlite"))
    store.apply_run(
        _manifest("run=1", 1, "/c/1.txt", "/c/2.txt"),
        [_lines("/c/1.txt", KEY_A, KEY_B), _lines("/c/2.txt", KEY_A)],
        [_signature_line("one", "/c/1.txt", TEXT)],
    )
    store.apply_run(_manifest("run=2", 2, "/c/1.txt"), [_lines("/c/1.txt", KEY_B)], [])

    reader = StoreReader(store.path)
    assert reader.line_counts([KEY_A, KEY_B]) == {KEY_A: 1, KEY_B: 1}
    (found,) = signatures([(Node("new", len(TEXT)), "/c/new.txt", TEXT)], 20, 6, 1)
    assert list(reader.signatures_sharing([found.text_key], found.bands)) == []
    reader.close()
    assert store.ledger(["/c/1.txt"])["/c/1.txt"]["run"] == "run=2"
    assert store.pending_prunes() == {"run=1": {"/c/1.txt"}}
    store.pruned(["run=1"])
    assert store.pending_prunes() == {}


def test_the_store_is_reset_and_touched(tmp_path):
    store = CorpusStore(str(tmp_path / "s.sqlite"))
    store.apply_run(_manifest("run=1", 1, "/c/1.txt"), [_lines("/c/1.txt", KEY_A)], [])
    store.touch({"/c/1.txt": 7.0})
    assert store.ledger(["/c/1.txt"])["/c/1.txt"]["mtime"] == 7.0
    store.set_meta("output", "/out")
    store.close()

    store = CorpusStore(str(tmp_path / "s.sqlite"))  # kept on disk
    assert (store.meta("output"), store.runs()) == ("/out", {"run=1": 1})
    store.reset()
    assert (store.meta("output"), store.runs(), store.known_inputs()) == (None, {}, 0)
    assert StoreReader(store.path).line_counts([KEY_A]) == {}
