"""WSGI entry point for gunicorn: ``gunicorn 'mda.wsgi:app'``."""

import gc

from mda import create_app

app = create_app()

# What is loaded by now (modules, mappers, the app, the message catalogues) lives as long as
# the process. Out of the collector's sight, it is not walked again by every full collection:
# those took 100-150 ms under load (each one stalls every thread of its worker, the tail of
# W3's latencies), and take a few ms frozen. Objects made by requests are collected as before.
gc.collect()
gc.freeze()
