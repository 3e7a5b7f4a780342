# The adapter as a container: slim Python, a non-root user, `python -m adapter` as the entry point.
# `docker run IMAGE --replay` answers from the recorded examples in /app/fixtures/recordings.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ADAPTER_STORE=/var/lib/adapter/responses.sqlite3 \
    ADAPTER_REPLAY_DIR=/app/fixtures/recordings
WORKDIR /app
COPY pyproject.toml README.md ./
COPY adapter ./adapter
COPY fixtures/recordings ./fixtures/recordings
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /var/lib/adapter --create-home adapter
USER adapter
# The SQLite response store (ADAPTER_STORE above): a volume, so that stored responses outlive the
# container (`docker run -v adapter-data:/var/lib/adapter ...`). Declared after the directory is
# made, so a new named volume starts owned by the adapter user. Unused with a PostgreSQL store.
VOLUME ["/var/lib/adapter"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
ENTRYPOINT ["python", "-m", "adapter", "--host", "0.0.0.0", "--port", "8000"]
CMD ["--workers", "2"]
