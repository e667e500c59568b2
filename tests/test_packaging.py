"""A non-editable install (what --setup_file gives remote workers) runs with no checkout around it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from .conftest import ROOT, SAMPLES

# What a built distribution holds: the checkout without version control, virtualenvs, tests and outputs.
NOT_SHIPPED = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", "out", "tests")


def test_pip_install_dot_runs_from_another_directory(tmp_path, tiny_model):
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SHIPPED)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # Beam, spaCy and the model come from this interpreter's packages (nothing is downloaded); the project
    # itself is installed into the new environment, which comes first on its path.
    (site / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    # pip builds the wheel in an isolated environment: its setuptools comes from the configured index.
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", str(source)]
    install = subprocess.run(pip, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    if install.returncode and "installing build dependencies" in install.stderr.lower():
        pytest.skip(f"no package index to build with: {install.stderr.strip().splitlines()[-1]}")
    assert install.returncode == 0, install.stderr
    shutil.rmtree(source)  # no checkout left anywhere
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    where = subprocess.run(
        [python, "-c", "import pipeline, transforms.core; print(pipeline.__file__, transforms.core.__file__)"],
        capture_output=True, text=True, cwd=elsewhere, env=env, check=True,
    ).stdout.split()
    assert all(path.startswith(str(site)) for path in where), where
    corpus = elsewhere / "corpus"
    shutil.copytree(SAMPLES, corpus)
    command = [env_dir / "bin" / "article-enrich", "run", "--input", "corpus", "--output", "out", "--model", tiny_model]
    done = subprocess.run(command, capture_output=True, text=True, cwd=elsewhere, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads((elsewhere / "out" / "run-summary.json").read_text(encoding="utf-8"))
    assert summary["invariant_ok"] and summary["counts"]["enriched"] > 0, summary
    assert summary["versions"]["article_enrich"]  # read from the installed distribution's metadata
