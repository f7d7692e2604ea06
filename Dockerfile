# Minimal image; hardened and documented further by the "ship and operate" issue.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=8000 FLASK_APP=app
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY app.py config.py ./
COPY api ./api
COPY utilities ./utilities
COPY migrations ./migrations
COPY data ./data

RUN useradd --create-home --uid 10001 appuser && mkdir -p instance && chown appuser instance
USER appuser

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health', timeout=2)"
CMD ["sh", "-c", "flask db upgrade && exec gunicorn --bind 0.0.0.0:${PORT} app:app"]
