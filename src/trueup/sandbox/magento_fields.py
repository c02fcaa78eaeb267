"""Magento's `fields` response filter: `fields=items[entity_id,items[sku,qty_ordered]],total_count`.

Real Magento trims a response to the named fields (nested with brackets), which makes order pages much
smaller; the emulator does the same so that the connector can ask for exactly what it maps.
"""

from __future__ import annotations

from typing import Any

FieldTree = dict[str, "FieldTree | None"]


class FieldsError(ValueError):
    pass


def parse_fields(spec: str) -> FieldTree:
    tree, pos = _parse(spec, 0)
    if pos != len(spec):
        raise FieldsError(f"unexpected {spec[pos]!r} at {pos} in fields filter")
    return tree


def _parse(spec: str, pos: int) -> tuple[FieldTree, int]:
    tree: FieldTree = {}
    name = ""
    while pos < len(spec):
        ch = spec[pos]
        if ch == "[":
            if not name:
                raise FieldsError(f"'[' without a field name at {pos}")
            tree[name], pos = _parse(spec, pos + 1)
            if pos >= len(spec) or spec[pos] != "]":
                raise FieldsError("unbalanced '[' in fields filter")
            name = ""
            pos += 1
        elif ch == "]":
            break
        elif ch == ",":
            if name:
                tree[name] = None
            name = ""
            pos += 1
        else:
            name += ch
            pos += 1
    if name:
        tree[name] = None
    return tree, pos


def project(value: Any, tree: FieldTree | None) -> Any:
    """Keep only the named fields of an object (or of each object in a list), recursively."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [project(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: project(value[k], sub) for k, sub in tree.items() if k in value}
    return value
