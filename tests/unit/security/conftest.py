"""Until the editable install is refreshed (`pip install -e .` picks up the
`tokenyard.security` package-dir mapping added in pyproject.toml), map the
package by hand so these tests import it the way users will."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("tokenyard.security") is None:  # pragma: no cover - depends on the install
    _root = Path(__file__).resolve().parents[3] / "security"
    _spec = importlib.util.spec_from_file_location(
        "tokenyard.security", _root / "__init__.py", submodule_search_locations=[str(_root)]
    )
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["tokenyard.security"] = _module
    _spec.loader.exec_module(_module)
