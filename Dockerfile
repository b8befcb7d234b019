# syntax=docker/dockerfile:1
# One image for every process of the service: the API, the Celery workers, the outbox relay, the
# migrations, Flower and the Stripe test server. docker-compose.yml picks the command of each;
# docs/operations.md runs the very same commands without Docker.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/campaign-billing
WORKDIR /src
# Every dependency ships a wheel (psycopg[binary] included): no compiler in either stage.
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/campaign-billing/bin/pip install .

FROM ${PYTHON_IMAGE}
# A fixed, unprivileged uid and gid, named by number below so that an orchestrator's
# runAsNonRoot check can verify it without reading /etc/passwd.
RUN groupadd --system --gid 10001 campaign-billing \
    && useradd --system --uid 10001 --gid 10001 --no-log-init --create-home \
        --home-dir /home/campaign-billing campaign-billing
COPY --from=build /opt/campaign-billing /opt/campaign-billing
ENV PATH=/opt/campaign-billing/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LOG_JSON=true
USER 10001:10001
WORKDIR /home/campaign-billing
# 8000: the API; 9100: a worker's metrics (WORKER_METRICS_PORT); 5555: Flower; 12111: the
# Stripe test server.
EXPOSE 8000 9100 5555 12111
CMD ["campaign-billing", "serve", "--host", "0.0.0.0", "--port", "8000"]
