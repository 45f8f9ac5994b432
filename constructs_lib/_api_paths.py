"""Resource paths of REST API routes: their validation, parameter names and construct ids."""

from __future__ import annotations

import re

from constructs_lib._validation import PropErrors

PATH_PART = re.compile(r"^(?:[A-Za-z0-9._~-]+|\{([A-Za-z_][A-Za-z0-9_-]*)(\+?)\})$")


def validate_path(errors: PropErrors, path: str) -> list[str]:
    """Problems with a resource path like ``/groups/{id}/images``; returns its parameter names."""
    if path == "/":
        return []
    parts = path.split("/")
    if not path.startswith("/") or path.endswith("/") or "" in parts[1:]:
        errors.add(
            "path",
            f"'{path}' is not a resource path; write it as '/' or '/part/{{param}}' with no empty "
            "parts and no trailing slash",
        )
        return []
    names: list[str] = []
    for index, part in enumerate(parts[1:], start=1):
        match = PATH_PART.match(part)
        if match is None:
            errors.add(
                "path",
                f"'{part}' in '{path}' is not a valid path part; use letters, digits, '.', '_', '~', '-' "
                "or a parameter like {id}",
            )
            continue
        name, greedy = match.group(1), match.group(2)
        if name is None:
            continue
        errors.check(
            not greedy or index == len(parts) - 1,
            "path",
            f"the greedy parameter {{{name}+}} in '{path}' must be the last part",
        )
        errors.check(
            name not in names,
            "path",
            f"parameter '{name}' appears twice in '{path}'; give each path parameter its own name",
        )
        names.append(name)
    return names


def route_id(verb: str, path: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", path)
    return verb.title() + ("".join(word[:1].upper() + word[1:] for word in words) or "Root")
