"""WSGI entry point for gunicorn: ``gunicorn 'mda.wsgi:app'``."""

from mda import create_app

app = create_app()
