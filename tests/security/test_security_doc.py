"""docs/security.md maps controls to tests by name: every test it names exists."""

from __future__ import annotations

import re

from tests.conftest import REPO


def test_every_test_the_control_mapping_names_exists() -> None:
    page = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(test_[a-z0-9_]+)`", page))
    defined = {
        m
        for path in (REPO / "tests").rglob("test_*.py")
        for m in re.findall(r"^(?:async )?def (test_[a-z0-9_]+)", path.read_text(encoding="utf-8"), re.M)
    }
    assert len(named) >= 10
    assert named <= defined, sorted(named - defined)
