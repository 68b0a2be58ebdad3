# The image of the scheduled QC gate job (infra/seqledger.yaml: QcGateImage, QcGateJobDefinition).
# The job runs `seqledger qc gate`: Great Expectations over finished runs without a verdict.
#
# Build and push from the repository root (docs/deploy-aws.md, "The QC gate job"):
#   docker build --platform linux/amd64 -f infra/qc-gate.Dockerfile -t seqledger:0.1.0 .
#   docker tag seqledger:0.1.0 ACCOUNT.dkr.ecr.REGION.amazonaws.com/seqledger:0.1.0
#   docker push ACCOUNT.dkr.ecr.REGION.amazonaws.com/seqledger:0.1.0
FROM python:3.11-slim-bookworm

# uv installs exactly the locked runtime set (uv.lock), no dev tools.
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    PATH=/app/.venv/bin:$PATH HOME=/tmp
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY lake/ lake/
COPY ingest/ ingest/
COPY pipeline_runner/ pipeline_runner/
COPY analytics/ analytics/
COPY expectations/ expectations/
COPY dashboards/ dashboards/
COPY seqledger/ seqledger/
RUN uv sync --frozen --no-dev

# No shell access needed, no root: the job only reads and writes the lake through its role.
USER 65534:65534
HEALTHCHECK NONE
CMD ["seqledger", "qc", "gate"]
