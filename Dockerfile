# The one image every govlake service in docker-compose.yaml runs: Airflow's components, the init job
# and the simulated 人社厅 API. Same pinned requirements.txt and the same package as the local stack, so a
# task behaves identically on a laptop and in the deployment.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    GOVLAKE_PROJECT_DIR=/opt/govlake

# libpq for psycopg2 (Airflow's metadata connection), tini to reap the processes Airflow forks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 tini \
    && rm -rf /var/lib/apt/lists/*

# Airflow's image convention: uid 50000, group 0, so mounted volumes are writable across images.
RUN useradd --create-home --uid 50000 --gid 0 --home-dir /home/govlake govlake \
    && mkdir -p /opt/govlake /opt/airflow/logs /opt/airflow/auth \
    && chown -R govlake:0 /opt/govlake /opt/airflow

WORKDIR /opt/govlake

# Dependencies first: this layer is rebuilt only when the pins change, not on every code edit.
COPY --chown=govlake:0 requirements.txt ./
RUN pip install -r requirements.txt

# The project (DAGs, dbt project, expectations, deploy scripts) and the govlake package itself.
COPY --chown=govlake:0 . ./
RUN pip install --no-deps . && rm -rf build include/*.egg-info

USER govlake
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["airflow", "version"]
