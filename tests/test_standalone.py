"""The repository stands alone: a fresh clone has every file its tests and docs rely on.

The Magento contract and the ERP research notes are vendored in `contracts/`; nothing may reach for the
workspace the project was started in (the folder beside the repository), which a user who clones the
repository does not have.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import REPO

# What reaching outside the repository looked like: paths into the old shared workspace, and the design
# documents that lived there.
OUTSIDE = re.compile(
    r"\.\./shared|shared/(contracts|DESIGN|DOMAIN|STYLE|seeds)|DESIGN\.md|parent / \"shared\""
)
# A path written in backticks in the README or docs, from one of the repository's top-level folders.
MENTIONED_PATH = re.compile(r"`((?:contracts|docs|tests|bench|src)/[A-Za-z0-9_./-]+)`")


def tracked_files() -> list[Path]:
    """The files git tracks (a fresh clone's content); every file but caches when git is unavailable."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True, text=True
        ).stdout
        return [REPO / name for name in out.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
        return [p for p in REPO.rglob("*") if p.is_file() and not skip & set(p.relative_to(REPO).parts)]


def test_no_tracked_file_depends_on_anything_outside_the_repository() -> None:
    offenders = []
    for path in tracked_files():
        if path == Path(__file__) or not path.exists():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        offenders += [
            f"{path.relative_to(REPO)}:{n}: {line.strip()}"
            for n, line in enumerate(text.splitlines(), 1)
            if OUTSIDE.search(line)
        ]
    assert not offenders, "these reach outside the repository:\n" + "\n".join(offenders)


def test_the_vendored_contract_is_in_the_repository_with_its_source() -> None:
    magento = REPO / "contracts" / "magento"
    for name in ("magento_rest_subset.json", "adobe-commerce-admin-schema-2.4.8.json", "README.md"):
        assert (magento / name).is_file(), f"contracts/magento/{name} is missing"
    assert list((magento / "examples").glob("*.json")), "contracts/magento/examples/ has no samples"
    readme = (magento / "README.md").read_text(encoding="utf-8")
    assert "AdobeDocs/commerce-webapi" in readme and "Apache-2.0" in readme


def test_every_repository_path_the_readme_and_docs_name_exists() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), REPO / "contracts" / "README.md"]
    missing = [
        f"{page.relative_to(REPO)} names {path}"
        for page in pages
        for path in MENTIONED_PATH.findall(page.read_text(encoding="utf-8"))
        if not (REPO / path.rstrip(".")).exists()
    ]
    assert not missing, "\n".join(missing)
