"""`[storefront] auth`: what a file without it means, what `trueup init` writes, and errors naming the key."""

from __future__ import annotations

import tomllib
from datetime import datetime
from typing import Any

import pytest

from trueup.config import example_config, parse_config
from trueup.errors import ConfigError


def config(**storefront: Any) -> dict[str, Any]:
    return {"storefront": {"base_url": "https://shop.example/rest/default", **storefront}, "erp": {}}


def test_a_file_without_auth_goes_on_with_its_bearer_token() -> None:
    storefront = parse_config(config(token_env="SHOP_TOKEN")).storefront
    assert storefront.auth == "bearer"
    assert storefront.secret_envs() == {"token": "SHOP_TOKEN"}


def test_init_writes_oauth1_with_the_four_environment_variables() -> None:
    storefront = parse_config(tomllib.loads(example_config(datetime(2026, 11, 29, 9)))).storefront
    assert storefront.auth == "oauth1"
    assert storefront.secret_envs() == {
        "consumer_key": "TRUEUP_MAGENTO_CONSUMER_KEY",
        "consumer_secret": "TRUEUP_MAGENTO_CONSUMER_SECRET",
        "access_token": "TRUEUP_MAGENTO_ACCESS_TOKEN",
        "access_token_secret": "TRUEUP_MAGENTO_ACCESS_TOKEN_SECRET",
    }


def test_oauth1_env_names_can_be_chosen() -> None:
    storefront = parse_config(config(auth="oauth1", access_token_secret_env="SHOP_TS")).storefront
    assert storefront.secret_envs()["access_token_secret"] == "SHOP_TS"


@pytest.mark.parametrize(
    ("storefront", "key", "value"),
    [
        ({"auth": "oauth"}, "storefront.auth", "'oauth'"),
        ({"auth": "oauth1", "consumer_key_env": "my key"}, "storefront.consumer_key_env", "not shown"),
        ({"auth": "oauth1", "consumer_secret": "abc"}, "storefront.consumer_secret", "not shown"),
    ],
)
def test_a_bad_auth_setting_names_the_key(storefront: dict[str, Any], key: str, value: str) -> None:
    """The last case is a secret pasted into the file instead of an env var name: an unknown key, whose
    value is not echoed."""
    with pytest.raises(ConfigError) as error:
        parse_config(config(**storefront))
    assert key in str(error.value) and value in str(error.value)
    assert "my key" not in str(error.value) and "abc" not in str(error.value)
