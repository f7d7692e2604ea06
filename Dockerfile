# Build stage: the pinned requirements installed into a virtualenv; pip's downloads and wheels
# stay in this stage, only the installed virtualenv is copied on (without pip: 16 MB the
# runtime never uses).
FROM python:3.11-slim AS build
RUN python -m venv /opt/venv
COPY requirements.txt .
RUN /opt/venv/bin/pip install --no-cache-dir -r requirements.txt \
    && /opt/venv/bin/python -m pip uninstall --yes --quiet pip

# Runtime stage: the virtualenv, the app, a non-root user; no .env or secrets (see .dockerignore).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PORT=8000 \
    FLASK_APP=app \
    APP_ENV=production
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
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
# serving/start.sh: `flask db upgrade`, then gunicorn. A database that does not answer yet (exit 69)
# is retried every 10 s in the background while gunicorn boots anyway (/health 200, /ready 503), so
# an outage at boot never leaves the container dead; any other failure (a bad or missing setting
# such as SECRET_KEY: exit 78) stops the container with one line naming it.
CMD ["sh", "serving/start.sh"]
