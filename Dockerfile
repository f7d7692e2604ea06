# syntax=docker/dockerfile:1
# Build stage: wheels for the pinned requirements (compilers stay out of the runtime image).
FROM python:3.11-slim AS build
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

# Runtime stage: the app, its wheels, a non-root user; no .env or secrets (see .dockerignore).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8000 \
    FLASK_APP=app \
    APP_ENV=production
WORKDIR /app
COPY --from=build /wheels /wheels
COPY requirements.txt .
RUN pip install --no-cache-dir --no-index --find-links=/wheels -r requirements.txt && rm -rf /wheels
COPY app.py config.py gunicorn.conf.py ./
COPY api ./api
COPY utilities ./utilities
COPY serving ./serving
COPY migrations ./migrations
COPY data ./data
RUN useradd --create-home --uid 10001 app && mkdir -p instance && chown app:app instance
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=2)"]
# Migrations first; if the database is down they retry in the background (every 10 s) while
# gunicorn boots anyway (/health 200, /ready 503) and seeds once the schema is there, so a
# database outage at boot never leaves the container dead. The loop exits 0 once migrated.
CMD ["sh", "-c", "flask db upgrade || { echo 'flask db upgrade failed (database down?): retrying every 10 s in the background' >&2; (until flask db upgrade; do sleep 10; done) & }; exec gunicorn -c gunicorn.conf.py app:app"]
