"""The operating manual: generated from the live config, in step with docs/manual.md, rendered as HTML."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

from tests.conftest import REPO
from tests.e2e.conftest import TRUEUP
from trueup.config import Config, example_config, parse_config
from trueup.manual.operating import manual_html, manual_markdown
from trueup.model.exceptions import REASONS


def _example() -> Config:
    return parse_config(tomllib.loads(example_config(datetime(2026, 11, 29, 9))))


def test_docs_manual_md_is_the_manual_generated_from_the_example_config() -> None:
    assert (REPO / "docs" / "manual.md").read_text(encoding="utf-8") == manual_markdown(_example()), (
        "regenerate docs/manual.md: see docs/queue.md ('The operating manual')"
    )


def test_the_manual_follows_the_live_config_and_covers_every_exception_and_team() -> None:
    cfg = _example()
    text = manual_markdown(cfg)
    for reason, info in REASONS.items():
        assert f"`{reason}`: {info.title}" in text and info.resolution in text
    parts = ["Which system masters what", "Flows and schedules", "Daily checks", "Weekly checks"]
    parts += ["Finance's reconciliation path", "Finance team", "Warehouse team", "Ecommerce team"]
    assert all(part in text for part in parts)
    quieter = cfg.model_copy(update={"prices": cfg.prices.model_copy(update={"enabled": False})})
    assert "| Prices: ERP to storefront | no |" in manual_markdown(quieter)
    assert "| Prices: ERP to storefront | yes | every 1 hour(s) |" in text


def test_the_html_manual_is_a_standalone_page_with_its_tables() -> None:
    page = manual_html(_example())
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page and "<h2>Flows and schedules</h2>" in page
    assert "<script" not in page


def test_trueup_manual_writes_markdown_and_html_from_a_config(tmp_path: Path) -> None:
    import subprocess

    config = tmp_path / "trueup.toml"
    config.write_text(example_config(datetime(2026, 11, 29, 9)), encoding="utf-8")
    out = subprocess.run([*TRUEUP, "manual", "-c", str(config), "--out", str(tmp_path / "m")],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "m" / "manual.md").read_text(encoding="utf-8") == manual_markdown(_example())
    assert (tmp_path / "m" / "manual.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    wrong = subprocess.run([*TRUEUP, "manual", "nonsense"], capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "unknown manual part" in wrong.stderr
