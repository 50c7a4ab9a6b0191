"""The layers' import rules: services, models and workflows import nothing from Flask.

They are used by the pages, the API, the worker and the command line alike; what they need from
the configuration reaches them as a ``Settings`` object on the session (mda/services/settings.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "mda"
FLASK_PACKAGES = ("flask", "flask_login", "flask_babel", "flask_wtf", "flask_smorest", "werkzeug")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", ["services", "models", "workflows"])
def test_a_layer_below_the_web_imports_nothing_from_flask(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found under mda/{package}"
    offending = {
        str(path.relative_to(ROOT.parent)): name
        for path in files
        for name in _imports(path)
        if name.split(".")[0] in FLASK_PACKAGES
    }
    assert not offending, f"imports from Flask below the web layer: {offending}"
