# syntax=docker/dockerfile:1
# Build stage: dependencies first (cached while only the source changes), then the project.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
# Install only the dependencies (the package itself comes after the source is copied).
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
RUN pip install -r /tmp/requirements.txt
COPY bot ./bot
COPY cogs ./cogs
COPY domain ./domain
COPY storage ./storage
COPY migrations ./migrations
COPY fakes ./fakes
RUN pip install --no-deps .

# Runtime stage: the venv only, a non-root user, data in a volume.
FROM python:3.11-slim
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
# `run` migrates (with a SQLite backup first) and then starts the bot.
CMD ["python", "-m", "bot", "run"]
