"""WSGI entry point for gunicorn: ``gunicorn 'mda.wsgi:app'``."""

from mda import create_app, freeze_loaded

app = create_app()
freeze_loaded()  # a long-running process: see there
