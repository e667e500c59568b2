"""Decoding cost per article against another checkout's decode.py, interleaved in one process: the binary test."""

from __future__ import annotations

import argparse
import importlib.util
import random
import time
from pathlib import Path
from types import ModuleType

from transforms.core import decode


def load_baseline(checkout: Path) -> ModuleType:
    """`transforms/core/decode.py` of another checkout, imported under its own name."""
    spec = importlib.util.spec_from_file_location("baseline_decode", checkout / "transforms" / "core" / "decode.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_files(folders: list[Path], count: int) -> list[bytes]:
    """The first `count` `.txt` files (sorted) of each folder, as bytes."""
    return [path.read_bytes() for folder in folders for path in sorted(folder.rglob("*.txt"))[:count]]


def seconds(module: ModuleType, articles: list[bytes]) -> tuple[float, int]:
    """(wall seconds to decode every input, how many were called binary)."""
    binary = 0
    started = time.perf_counter()
    for data in articles:
        try:
            module.decode_bytes(data)
        except module.UndecodableError:
            binary += 1
    return time.perf_counter() - started, binary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folders", type=Path, nargs="+", help="corpus folders of .txt articles")
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout of the code to compare with")
    parser.add_argument("--count", type=int, default=1000, help="articles per folder")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--binary", type=int, default=200, help="random byte strings of 4 KB, the worst case")
    args = parser.parse_args(argv)
    rng = random.Random(7)
    inputs = {
        "articles": read_files(args.folders, args.count),
        "random bytes": [rng.randbytes(4096) for _ in range(args.binary)],
    }
    variants = {"baseline": load_baseline(args.baseline), "this checkout": decode}
    for label, items in inputs.items():
        best = dict.fromkeys(variants, float("inf"))
        called_binary = {}
        for _ in range(args.rounds):
            for name, module in variants.items():
                wall, called_binary[name] = seconds(module, items)
                best[name] = min(best[name], wall)
        size = sum(map(len, items))
        print(f"{len(items)} {label}, {size / 1e6:.1f} MB, best of {args.rounds} interleaved rounds")
        for name, wall in best.items():
            print(f"  {name:<14} {wall * 1e6 / len(items):8.1f} µs each, called binary: {called_binary[name]}")
        print(f"  ratio this checkout / baseline: {best['this checkout'] / best['baseline']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
