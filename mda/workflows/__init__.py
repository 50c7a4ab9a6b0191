"""Workflows as plain declarations: states, triggers, guards and deadline rules.

Nothing here imports Flask, Celery or a database session: services bind a workflow's shared
machine to a plain object for one call and write the outcome to the database themselves.
"""
