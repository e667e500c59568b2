"""Duplicate detection: 5-gram sets, LSH bands, star clusters, the Beam stage, and runs end to end."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.cli import main
from pipeline.config import ConfigError, load_config
from pipeline.runs import committed_shards
from transforms.cluster_duplicates import ClusterDuplicates
from transforms.core.dedup import (
    DedupConfig,
    Edge,
    Node,
    assign,
    band_keys,
    bucket_pairs,
    cluster_together,
    exact_group,
    find_probability,
    jaccard,
    packed_bands,
    packed_set,
    shard_pairs,
    shingle_hashes,
    signature,
    signatures,
    text_key,
    words,
)
from transforms.core.types import Article, Duplicate, Source

from .conftest import ROOT, read_shards

VOCABULARY = [f"w{n}" for n in range(3000)]


def story(seed: int, n_words: int = 200) -> str:
    rng = random.Random(seed)
    sentences, sentence = [], []
    for _ in range(n_words):
        sentence.append(rng.choice(VOCABULARY))
        if len(sentence) == 12:
            sentences.append(" ".join(sentence).capitalize() + ".")
            sentence = []
    return " ".join([*sentences, " ".join(sentence)]).strip()


def change_words(text: str, how_many: int, seed: int) -> str:
    rng = random.Random(seed)
    tokens = text.split(" ")
    for i in rng.sample(range(len(tokens)), how_many):
        tokens[i] = "changed"
    return " ".join(tokens)


def five_grams(text: str) -> set[str]:
    tokens = words(text)
    return {" ".join(tokens[i : i + 5]) for i in range(len(tokens) - 4)}


def true_jaccard(a: str, b: str) -> float:
    left, right = five_grams(a), five_grams(b)
    return len(left & right) / len(left | right)


def sig(node: Node, text: str):
    return signature(node, f"/c/{node.id}.txt", text, 20, 6, 1)


# ---- pure logic --------------------------------------------------------------------------------


def test_exact_duplicates_are_the_same_lower_cased_words():
    text = "The Bank of England raised rates, it said.\n\nMarkets fell."
    rewrapped = "the bank of\nengland raised rates it said\nmarkets   fell"
    assert text_key(text, words(text)) == text_key(rewrapped, words(rewrapped))
    assert text_key(text, words(text)) != text_key("Markets fell.", words("Markets fell."))


def test_jaccard_of_the_packed_sets_is_the_exact_5_gram_jaccard():
    base = story(1)
    for other in (base, change_words(base, 4, 2), story(3), base[: len(base) // 2]):
        packed = [packed_set(shingle_hashes(words(t))) for t in (base, other)]
        assert jaccard(*packed) == pytest.approx(true_jaccard(base, other))


def test_bands_find_pairs_at_the_threshold_with_99_percent():
    assert find_probability(0.8, 20, 6) >= 0.99
    assert find_probability(0.8, 14, 8) == pytest.approx(0.92, abs=0.01)  # datatrove's defaults
    with pytest.raises(ConfigError, match=r"dedup\.bands"):
        load_config(None, ["dedup.bands=14", "dedup.rows=8"])


def test_band_keys_are_the_same_in_another_process():
    text = story(5)
    here = band_keys(shingle_hashes(words(text)), 20, 6, 1)
    code = (
        "import sys, json; from transforms.core.dedup import band_keys, shingle_hashes, words; "
        "print(json.dumps(band_keys(shingle_hashes(words(sys.stdin.read())), 20, 6, 1)))"
    )
    env = {"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "123"}
    done = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True, env=env)
    assert tuple(json.loads(done.stdout)) == here and len(here) == 20
    assert band_keys(shingle_hashes(words(text)), 20, 6, 2) != here  # the seed matters


def test_signatures_computed_together_equal_those_computed_one_by_one():
    texts = [story(seed) for seed in range(6)] + ["", "Two words.", "!!!"]
    items = [(Node(str(i), len(text)), f"/c/{i}.txt", text) for i, text in enumerate(texts)]
    together = signatures(items, 20, 6, 1)
    assert together == [signatures([item], 20, 6, 1)[0] for item in items]
    assert together[6].bands == () and len(together[7].bands) == 20 and together[0].bands != together[1].bands


def test_near_duplicates_share_a_band_and_unrelated_articles_do_not():
    base = story(7, 400)
    near = change_words(base, 8, 1)  # 2% of the words
    assert true_jaccard(base, near) >= 0.8
    a, b, c = sig(Node("a", 1), base), sig(Node("b", 1), near), sig(Node("c", 1), story(8, 400))
    assert set(a.bands) & set(b.bands)
    assert not set(a.bands) & set(c.bands)


def test_packed_band_shards_give_the_pairs_of_grouping_band_by_band():
    bases = [story(seed, 300) for seed in range(4)]
    texts = bases + [change_words(text, 3, 9) for text in bases] + [bases[0], bases[0].upper(), story(20, 300)]
    earlier = Node("e", len(bases[1]), Duplicate("e", 1, None, 1.0))
    sigs = [sig(Node(f"n{i}", len(text)), text) for i, text in enumerate(texts)] + [sig(earlier, bases[1])]
    by_band: dict[int, list] = {}
    for one in sigs:
        for band in one.bands:
            by_band.setdefault(band, []).append((one.text_key, one.node))
    expected = {(a.id, b.id) for entries in by_band.values() for a, b in bucket_pairs(entries)}
    shards: dict[int, list[bytes]] = {}
    for batch in (sigs[:5], sigs[5:]):  # two batches: a shard's entries come from both
        for shard, packed in packed_bands(batch, 8):
            shards.setdefault(shard, []).append(packed)
    per_shard = [[(a.id, b.id) for a, b in shard_pairs(packed)] for packed in shards.values()]
    assert len(shards) == 8 and ("n0", "n4") in expected and ("e", "n5") in expected
    assert {pair for pairs in per_shard for pair in pairs} == expected
    assert all(len(pairs) == len(set(pairs)) for pairs in per_shard)  # a pair once per shard, though many bands


def test_the_representative_is_the_longest_then_the_smallest_id_and_earlier_runs_win():
    rep, members = exact_group([Node("b", 10), Node("a", 10), Node("c", 12)])
    assert rep.id == "c" and [m.id for m in members] == ["c", "a", "b"]
    earlier = Node("z", 5, Duplicate("z", 1, None, 1.0))
    assert exact_group([Node("a", 10), earlier])[0] is earlier


def test_bucket_pairs_collapse_exact_copies_and_skip_pairs_of_earlier_articles():
    old1, old2 = Node("o1", 5, Duplicate("o1", 1, None, 1.0)), Node("o2", 5, Duplicate("o2", 1, None, 1.0))
    entries = [("t1", Node("a", 9)), ("t1", Node("b", 9)), ("t2", Node("c", 3)), ("t3", old1), ("t4", old2)]
    pairs = {(x.id, y.id) for x, y in bucket_pairs(entries)}
    assert pairs == {("a", "c"), ("a", "o1"), ("a", "o2"), ("c", "o1"), ("c", "o2")}


def test_clusters_are_stars_so_a_chain_is_not_merged():
    a, b, c, d = (Node(x, 100) for x in "abcd")
    chain = [Edge(a, b, 0.85), Edge(b, c, 0.85), Edge(c, d, 0.85)]  # a and d may share almost nothing
    clusters = dict(assign(chain, []))
    assert clusters["b"] == Duplicate("b", 3, None, 1.0)
    assert clusters["a"] == clusters["c"] == Duplicate("b", 3, "near", 0.85)
    assert "d" not in clusters  # c went to b; d is only similar to c


def test_the_centre_is_the_article_most_others_copy_and_exact_copies_count():
    original, longer = Node("o", 100), Node("l", 120)
    copy1, copy2, copy3 = Node("x", 100), Node("y", 100), Node("z", 90)
    edges = [Edge(original, longer, 0.9), Edge(original, copy1, 0.82), Edge(original, copy3, 0.85)]
    edges.append(Edge(longer, copy2, 0.81))
    clusters = dict(assign(edges, [[original, Node("e", 100)]]))
    # o duplicates 4 articles (e exactly; l, x, z), l only 3 (o, e, y): o is the centre although l is longer
    assert clusters["o"] == Duplicate("o", 5, None, 1.0) and clusters["e"] == Duplicate("o", 5, "exact", 1.0)
    assert clusters["x"] == Duplicate("o", 5, "near", 0.82) and clusters["l"].cluster == clusters["z"].cluster == "o"
    assert "y" not in clusters  # near l, but l is o's; y is not near o


def test_new_articles_join_earlier_clusters_and_earlier_ones_keep_theirs():
    earlier_rep = Node("r", 100, Duplicate("r", 2, None, 1.0))
    earlier_member = Node("m", 100, Duplicate("r", 2, "near", 0.9))
    new1, new2 = Node("n1", 300), Node("n2", 100)
    edges = [Edge(earlier_rep, new1, 0.85), Edge(earlier_member, new2, 0.95), Edge(new1, new2, 0.9)]
    clusters = dict(assign(edges, [[earlier_member, Node("n3", 100)]]))
    assert set(clusters) == {"n1", "n3"}  # only this run's articles, in clusters of 2+
    assert clusters["n1"] == Duplicate("r", 4, "near", 0.85)
    assert clusters["n3"] == Duplicate("r", 4, "near", 0.9)  # an exact copy of m, which is near r (r, m, n1, n3)
    assert "n2" not in clusters  # near m, whose cluster is r's, and near n1, claimed by r; but not near r


# ---- the Beam stage ----------------------------------------------------------------------------


def article(name: str, text: str) -> Article:
    return Article(id=f"{name:0>20}", source=Source(f"/c/{name}.txt", f"{name}.txt", "txt", len(text)), text=text)


def test_cluster_duplicates_annotates_every_article_and_drops_copies_when_asked():
    original = story(11, 300)
    articles = [
        article("a", original),
        article("b", original.upper()),  # exact: the same lower-cased words
        article("c", change_words(original, 3, 4)),
        article("d", story(12, 300)),
    ]
    similarity = round(true_jaccard(original, articles[2].text), 4)
    expected = {
        "a": ("a", 3, None),
        "b": ("a", 3, "exact"),
        "c": ("a", 3, "near"),
        "d": ("d", 1, None),
    }
    with TestPipeline() as p:
        annotated, files = p | beam.Create(articles) | ClusterDuplicates(DedupConfig())
        pairs = annotated | beam.Map(
            lambda a: (a.id[-1], (a.duplicate.cluster[-1], a.duplicate.size, a.duplicate.kind))
        )
        assert_that(pairs, equal_to(list(expected.items())), label="Clusters")
        near = (
            annotated | beam.Filter(lambda a: a.duplicate.kind == "near") | beam.Map(lambda a: a.duplicate.similarity)
        )
        assert_that(near, equal_to([similarity]), label="Similarity")
        assert files == {}
    with TestPipeline() as p:
        kept, files = p | beam.Create(articles) | ClusterDuplicates(DedupConfig(drop=True))
        assert_that(kept | beam.Map(lambda a: a.id[-1]), equal_to(["a", "d"]), label="Kept")
        listed = (
            files["duplicates"]
            | beam.Map(json.loads)
            | beam.Map(lambda r: (r["id"][-1], r["duplicate"]["cluster"][-1]))
        )
        assert_that(listed, equal_to([("b", "a"), ("c", "a")]), label="Dropped")


def test_a_compact_job_finds_the_same_clusters_in_one_step():
    rng = random.Random(5)
    originals = [story(100 + n, 250) for n in range(12)]
    articles = [article(f"o{n}", text) for n, text in enumerate(originals)]
    for n in range(40):  # exact copies, light and heavy edits, chains of edits, strangers
        base = originals[rng.randrange(len(originals))]
        kind = rng.choice(["exact", "light", "heavy", "stranger"])
        text = {"exact": base.upper(), "light": change_words(base, 4, n), "heavy": change_words(base, 30, n)}.get(
            kind, story(500 + n, 250)
        )
        articles.append(article(f"x{n:02d}", text))
    sigs = [sig(Node(a.id, len(a.text)), a.text) for a in articles]
    assignments, verified = cluster_together(sigs, DedupConfig().threshold)
    assert verified > 0 and len({d.cluster for _, d in assignments}) > 3
    expected = dict(assignments)
    expected = [(a.id, expected.get(a.id) or Duplicate(a.id, 1, None, 1.0)) for a in articles]
    for compact in (False, True):
        with TestPipeline() as p:
            annotated, _ = p | beam.Create(articles) | ClusterDuplicates(DedupConfig(), compact=compact)
            found = annotated | beam.Map(lambda a: (a.id, a.duplicate))
            assert_that(found, equal_to(expected), label="SameClusters")


# ---- end to end --------------------------------------------------------------------------------


def write_corpus(folder: Path, stories: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in stories.items():
        (folder / name).write_text(f"Title of {name}\n\n{text}\n", encoding="utf-8")


def test_cli_flags_duplicates_and_drop_keeps_the_invariant(tmp_path, tiny_model, record_validators):
    original = story(21)
    stories = {f"s{n}.txt": story(100 + n) for n in range(5)}
    stories |= {"orig.txt": original, "copy.txt": original, "near.txt": change_words(original, 2, 9)}
    write_corpus(tmp_path / "in", stories)
    output = tmp_path / "out"
    assert main(["run", "--input", str(tmp_path / "in"), "--output", str(output), "--model", tiny_model]) == 0
    records = {r["source"]["path"]: r for r in read_shards(output, "enriched")}
    for record in records.values():
        record_validators[0].validate(record)
    rep = min(records["orig.txt"]["id"], records["copy.txt"]["id"])  # same length: the smaller id
    assert {records[p]["duplicate"]["cluster"] for p in ("orig.txt", "copy.txt", "near.txt")} == {rep}
    assert records["near.txt"]["duplicate"]["kind"] == "near" and records["near.txt"]["duplicate"]["size"] == 3
    for path in (p for p in stories if p.startswith("s")):
        assert records[path]["duplicate"] == {
            "cluster": records[path]["id"],
            "size": 1,
            "kind": None,
            "similarity": 1.0,
        }
    summary = json.loads((output / "run-summary.json").read_text())
    assert summary["duplicates"] == {
        "exact_clusters": 0,
        "near_clusters": 1,
        "duplicate_articles": 2,
        "exact_duplicates": 1,
        "near_duplicates": 1,
        "dropped": 0,
    }

    dropped_out = tmp_path / "dropped"
    args = ["run", "--input", str(tmp_path / "in"), "--output", str(dropped_out), "--model", tiny_model]
    assert main([*args, "--set", "dedup.drop=true"]) == 0
    summary = json.loads((dropped_out / "run-summary.json").read_text())
    counts = summary["counts"]
    assert counts["inputs"] == counts["enriched"] + counts["dead_letter"] + counts["duplicates_dropped"] == 8
    assert counts["duplicates_dropped"] == 2 and summary["invariant_ok"]
    listed = read_shards(dropped_out, "duplicates")
    copies = {"orig.txt", "copy.txt", "near.txt"} - {records_path(records, rep)}
    assert sorted(r["source"]["path"] for r in listed) == sorted(copies)
    assert {r["duplicate"]["cluster"] for r in listed} == {rep}
    assert rep in {r["id"] for r in read_shards(dropped_out, "enriched")}


def records_path(records: dict[str, dict], record_id: str) -> str:
    (path,) = [p for p, r in records.items() if r["id"] == record_id]
    return path


def test_nightly_copies_get_the_cluster_of_their_original_from_an_earlier_run(tmp_path, tiny_model):
    corpus, output = tmp_path / "corpus", tmp_path / "out"
    originals = {f"o{n:02d}.txt": story(200 + n, 150) for n in range(12)}
    write_corpus(corpus, originals)
    args = ["run", "--incremental", "--input", str(corpus), "--output", str(output), "--model", tiny_model]
    assert main(args) == 0
    first_run = output / (output / "latest").read_text().strip()
    first = {r["source"]["path"]: r["id"] for r in read_shards(first_run, "enriched")}

    copies = {f"x{n:02d}.txt": originals[f"o{n:02d}.txt"] for n in range(0, 6, 2)}
    copies |= {f"y{n:02d}.txt": change_words(originals[f"o{n:02d}.txt"], 1, n) for n in range(1, 6, 2)}
    write_corpus(corpus, copies)
    assert main(args) == 0
    second = output / (output / "latest").read_text().strip()
    records = {r["source"]["path"]: r for r in read_shards(second, "enriched")}
    assert set(records) == set(copies)
    for name, record in records.items():
        original = first["o" + name[1:]]
        assert record["duplicate"]["cluster"] == original, name
        assert record["duplicate"]["kind"] == ("exact" if name.startswith("x") else "near")
        assert record["duplicate"]["size"] == 2
    assert len(committed_shards(str(output), "signatures")) >= 2
