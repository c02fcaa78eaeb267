"""What makes a config value usable, and how a refusal is said in plain words.

`trueup.config` declares the keys; the checks here refuse values that parse but cannot work (a URL without
a scheme, `GBPX`, a MySQL URL, a carrier mapping without `CARRIER/SERVICE`) and turn pydantic's errors
into sentences that name the key, show the value unless it may be a secret, say what is expected and, for
an unknown key, suggest the nearest known one.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel
from pydantic_core import ErrorDetails

LOOPBACK_NAMES = ("localhost",)
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_SECRET_WORDS = ("secret", "token", "password", "passwd", "key", "credential")


def url_problem(value: str, *, allow_insecure_http: bool) -> str:
    """Why `value` cannot be a system's base URL, or '' when it can. Never quotes a password in it."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "is not a URL: expected e.g. https://shop.example.co.uk/rest/default"
    if parts.scheme not in ("http", "https") or not host:
        return "is not an http(s) URL with a host: expected e.g. https://shop.example.co.uk/rest/default"
    if parts.username or parts.password:
        return (
            "holds a user name or password (user:pass@): credentials never go in a URL; put them in the "
            "environment variable the section names (the value is not shown)"
        )
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(host):
        return (
            "is plain http://: orders and customers' details would cross the network unencrypted. Use "
            "https://, or set allow_insecure_http = true in this section if the network is private"
        )
    return ""


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def env_name_problem(value: str) -> str:
    """An `*_env` key holds a variable's name; a value that is not one is most likely the secret itself."""
    if _ENV_NAME.match(value):
        return ""
    return (
        "must be the NAME of an environment variable (capitals, digits and _, e.g. TRUEUP_ERP_TOKEN), and "
        "this value does not look like one: if it is the secret itself, put it in the environment instead "
        "(the value is not shown)"
    )


def may_be_secret(key: str, value: object) -> bool:
    """Whether a value must not be echoed: a secret's key, or a URL that may carry a password."""
    return any(word in key.lower() for word in _SECRET_WORDS) or "@" in str(value) or "database" in key


def nearest(word: str, known: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"; did you mean `{match[0]}`?" if match else ""


def _known_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed where `loc` points (its last part is the unknown key)."""
    current: Any = model
    for part in loc[:-1]:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def plain(model: type[BaseModel], error: ErrorDetails, key: str) -> str:
    """One pydantic error as a sentence: `<key> = <value> <what is wrong>`."""
    kind, ctx = error["type"], error.get("ctx") or {}
    value = error.get("input")
    shown = "" if kind == "missing" or may_be_secret(key, value) else f" = {value!r}"
    if isinstance(value, dict | list | tuple) and kind not in ("missing", "extra_forbidden", "value_error"):
        shown = ""
    if kind == "missing":
        return f"{key} is required but missing"
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        if any(word in name.lower() for word in _SECRET_WORDS):
            return (
                f"{key}: secrets never go in the file (the value is not shown). Put it in the environment "
                f"and name the variable with `{name}_env` instead{nearest(name + '_env', [])}"
            )
        if not isinstance(value, str | int | float | bool):
            shown = ""
        return f"{key}{shown} is not a known key{nearest(name, _known_keys(model, error['loc']))}"
    expected = {
        "int_parsing": "must be a whole number",
        "int_type": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "float_type": "must be a number",
        "decimal_parsing": 'must be a decimal number in quotes, e.g. "0.02"',
        "decimal_type": 'must be a decimal number in quotes, e.g. "0.02"',
        "bool_parsing": "must be true or false",
        "bool_type": "must be true or false",
        "string_type": "must be text in quotes",
        "tuple_type": 'must be a list, e.g. ["GBP", "EUR"]',
        "list_type": 'must be a list, e.g. ["GBP", "EUR"]',
        "dict_type": "must be a table (a [section] or { key = value })",
        "model_type": "must be a table (a [section])",
        "model_attributes_type": "must be a table (a [section])",
    }.get(kind)
    if expected is None:
        if kind == "literal_error":
            expected = f"must be one of {ctx.get('expected', '')}"
        elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            sign = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤"}
            limit = next(iter(ctx.values()), "")
            expected = f"must be {sign[kind]} {limit}"
        elif kind in ("string_too_short", "string_too_long"):
            expected = error["msg"].lower().replace("string", "text")
        elif kind == "value_error":
            expected = str(ctx.get("error") or error["msg"]).removeprefix("Value error, ")
            if isinstance(value, dict):
                return f"{key}: {expected}"  # a check across the table: the message names the key
            if isinstance(value, list | tuple | dict):
                shown = ""
        elif kind == "string_pattern_mismatch" and key.endswith("_env"):
            expected, shown = env_name_problem(str(value)), ""
        else:
            expected = "is not valid here: " + error["msg"].lower()
    return f"{key}{shown} {expected}"
