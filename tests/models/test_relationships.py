"""Relationships of the trajectory aggregate are declared on both sides (``back_populates``)."""

from __future__ import annotations

from sqlalchemy import inspect

from mda.models import Base, Trajectory


def test_every_relationship_to_or_from_a_trajectory_has_its_other_side():
    touching = [
        rel
        for mapper in Base.registry.mappers
        for rel in mapper.relationships
        if Trajectory in (mapper.class_, rel.mapper.class_)
    ]
    assert touching
    missing = [str(rel) for rel in touching if not rel.back_populates]
    assert missing == []
    for rel in touching:
        other = inspect(rel.mapper.class_).relationships[rel.back_populates]
        assert other.back_populates == rel.key, rel
