"""The documentation that is generated or promised stays true to the code."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import REPO
from trueup.config import example_config, parse_config
from trueup.manual import exceptions_markdown
from trueup.model.exceptions import REASONS, Reason


def test_docs_exceptions_md_is_exactly_the_generated_catalogue() -> None:
    assert (REPO / "docs" / "exceptions.md").read_text(encoding="utf-8") == exceptions_markdown(), (
        "run `trueup manual exceptions > docs/exceptions.md`"
    )


def test_every_reason_code_is_snake_case_and_has_an_owner_and_a_resolution() -> None:
    assert set(REASONS) == set(Reason)
    for reason, info in REASONS.items():
        assert reason.value == reason.value.lower() and " " not in reason.value
        assert info.resolution and info.meaning and info.owner


def test_the_example_config_that_init_writes_is_valid() -> None:
    import tomllib

    config = parse_config(tomllib.loads(example_config(datetime(2026, 11, 29, 9))))
    assert config.mappings.carriers["tablerate_bestway"].carrier == "DPD"
    assert config.mappings.carriers["tablerate_bestway"].service == "NEXTDAY"


def test_the_configuration_page_documents_every_config_key() -> None:
    from pydantic import BaseModel

    from trueup.config import Config

    page = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")

    def walk(model: type[BaseModel], path: str) -> None:
        for key, field in model.model_fields.items():
            sub = field.annotation
            here = f"{path}.{key}" if path else key
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                assert f"[{here}]" in page, f"[{here}] has no section in docs/configuration.md"
                walk(sub, here)
            elif path == "mappings":
                assert f"[{here}]" in page, f"[{here}] is not documented"
            else:
                assert f"`{key}`" in page, f"{here} is not documented in docs/configuration.md"

    walk(Config, "")
