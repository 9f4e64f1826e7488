# ClanStats. Builds with the classic builder (DOCKER_BUILDKIT=0) and with BuildKit alike: no
# heredocs, no RUN --mount, no syntax directive (tests/test_container_files.py holds it to that).
#
# The base image is pinned by version and by the digest of its multi-architecture index, as
# docker-library/repo-info lists it (repos/python/remote/3.11.16-slim-bookworm.md at commit
# 422f3cfe488dc9ae394c5058b27db617f72c91db). To move on, take the new tag's index digest from
# the same place. --build-arg BASE_IMAGE=... swaps it (a registry mirror, an offline copy).
ARG BASE_IMAGE=python:3.11.16-slim-bookworm@sha256:c425d915a89a6dcd3183b1797ad9bd8878caff5a417f6371c8df93c8ea8b727f
#
# Build stage: the locked dependencies first (cached while only the source changes), every file
# checked against the hashes in requirements.lock; then the project, built with the lock's own
# setuptools (no build dependency is fetched unpinned).
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock && pip check
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY domain ./domain
COPY storage ./storage
COPY migrations ./migrations
COPY fakes ./fakes
RUN pip install --no-deps --no-build-isolation . && pip check

# Runtime stage: the venv only, a non-root user, data in a volume.
FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    CLANSTATS_DATABASE_URL=sqlite:////data/clanstats.sqlite3 \
    CLANSTATS_LOG_FORMAT=json \
    CLANSTATS_HEARTBEAT_FILE=/tmp/clanstats.heartbeat
RUN useradd --create-home --uid 10001 clanstats && mkdir /data && chown clanstats /data
COPY --from=build /opt/venv /opt/venv
USER clanstats
WORKDIR /data
VOLUME ["/data"]
# The health check: the database answers at the newest schema and the bot touched its
# heartbeat (CLANSTATS_HEARTBEAT_FILE above) within 120 s; exit 1 when not (README "Health").
HEALTHCHECK --interval=60s --timeout=15s --start-period=120s --retries=3 \
    CMD ["clanstats", "health"]
# `run` migrates (with a SQLite backup first) and then starts the bot. `clanstats demo` works
# in the image too (docker run --rm IMAGE clanstats demo): its recordings are package data.
CMD ["python", "-m", "bot", "run"]
