"""Demo data: a realistic synthetic population of households (``mda demo``, the bench).

:func:`generate` simulates each household's walk through the trajectory workflow
(:mod:`mda.demo.population`) and writes the rows in bulk (:mod:`mda.demo.writer`).
"""

from mda.demo.generator import (
    DEMO_KEYS,
    DemoRefused,
    DemoResult,
    generate,
    household_counts,
    real_trajectories,
)
from mda.demo.population import DEMO_PREFIX, MEASUREMENT_LEVELS, REGION_POPULATION

__all__ = [
    "DEMO_KEYS",
    "DEMO_PREFIX",
    "MEASUREMENT_LEVELS",
    "REGION_POPULATION",
    "DemoRefused",
    "DemoResult",
    "generate",
    "household_counts",
    "real_trajectories",
]
