"""Airflow DAG: the nightly incremental article-enrich run, through the Apache Beam provider's operator."""

from __future__ import annotations

import datetime as dt

from airflow import DAG
from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator

# Where the corpus and the enriched dataset live, and where this repository is checked out on the workers.
CORPUS = "gs://my-bucket/news"
OUTPUT = "gs://my-bucket/enriched"
REPO = "/opt/article-enrich"

with DAG(
    dag_id="article_enrich_nightly",
    schedule="0 2 * * *",  # every night at 02:00 UTC
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,  # the ledger makes every run catch up on everything not yet committed
    max_active_runs=1,  # the output lock refuses a second concurrent run anyway
    default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=15)},
    tags=["article-enrich"],
) as dag:
    enrich = BeamRunPythonPipelineOperator(
        task_id="enrich_new_articles",
        py_file=f"{REPO}/examples/scheduling/nightly.py",
        runner="DirectRunner",  # or "DataflowRunner" with dataflow_config=DataflowConfiguration(...)
        pipeline_options={
            "input": CORPUS,
            "output": OUTPUT,
            "config": f"{REPO}/configs/local.yaml",
            "direct_running_mode": "multi_processing",
            "direct_num_workers": 4,
        },
        py_interpreter=f"{REPO}/.venv/bin/python",
        py_system_site_packages=False,
    )
