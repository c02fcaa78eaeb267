"""Plain help text: `--limit INTEGER`, `IDENT`, no `<bool>` after a flag, no `{ident}` in the usage line.

Typer 0.29 writes an option's type as `<int>`, a flag as `<bool>` and a required argument as `{ident}`, which
reads like a template to someone new to the command line. These overrides restore click's conventions:
upper-case metavars, nothing after a flag, `[IDENT]...` for optional arguments.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption

_ORIGINAL_OPTION = TyperOption.display_type_rich
_ORIGINAL_ARGUMENT = TyperArgument.display_type_rich
_NAMES = {"int": "INTEGER", "str": "TEXT", "float": "NUMBER", "path": "PATH", "datetime": "DATE-TIME"}


def _plain(shown: str | None) -> str | None:
    if shown is None or not shown.startswith("<"):
        return shown
    inner, dots = shown.removesuffix("...").strip("<>"), "..." if shown.endswith("...") else ""
    inner = inner.removeprefix("list[").removesuffix("]")
    if "|" in inner:
        return inner + dots  # choices: a|b|c
    return _NAMES.get(inner, inner.upper()) + dots


def _option_metavar(self: Any, ctx: Any) -> str | None:
    if getattr(self, "is_bool_flag", False) or getattr(self, "count", False):
        return None
    return _plain(_ORIGINAL_OPTION(self, ctx))


def _argument_metavar(self: Any, ctx: Any) -> str | None:
    return _plain(_ORIGINAL_ARGUMENT(self, ctx))


def _argument_name(self: Any) -> str:
    name = str(self.metavar or self.name or "").upper()
    name = name if self.required else f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


def _argument_column(self: Any) -> str:
    return str(self.metavar or self.name or "").upper() + (
        "..." if self.metavar is None and self.nargs != 1 else ""
    )


def install() -> None:
    TyperOption.display_type_rich = _option_metavar  # type: ignore[method-assign]
    TyperArgument.display_type_rich = _argument_metavar  # type: ignore[method-assign]
    TyperArgument._usage_display_name = _argument_name  # type: ignore[method-assign]
    TyperArgument._rich_display_name = _argument_column  # type: ignore[method-assign]
