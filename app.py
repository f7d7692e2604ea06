"""WSGI entry point: `gunicorn app:app`."""

from api import create_app

app = create_app()
