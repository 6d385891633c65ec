# The jirasync image: the official Airflow 3.3.2 image plus the locked
# requirements and the jirasync package. Used by every Airflow service in
# docker-compose.yaml and by the optional sandbox service.
FROM apache/airflow:slim-3.3.2-python3.11

USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/*
USER airflow

COPY --chown=airflow:root requirements.txt constraints.txt pyproject.toml README.md /opt/jirasync/
COPY --chown=airflow:root include/ /opt/jirasync/include/
RUN pip install --no-cache-dir -r /opt/jirasync/requirements.txt -c /opt/jirasync/constraints.txt \
    && pip install --no-cache-dir --no-deps -e /opt/jirasync
