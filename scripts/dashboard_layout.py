#!/usr/bin/env python3
"""The reference app's dashboard layout as an SVG picture, generated from its synthesized template.

`make diagram` rewrites docs/images/dashboard-layout.svg from the dev stage's
``AWS::CloudWatch::Dashboard`` (the widgets' places, sizes and titles as CloudWatch draws them);
tests/app/test_dashboard.py fails when the picture differs from what the template says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PICTURE = ROOT / "docs" / "images" / "dashboard-layout.svg"
DASHBOARD = "AWS::CloudWatch::Dashboard"
_CELL_WIDTH, _CELL_HEIGHT = 40, 24  # pixels per grid column and row
_FILL = {"alarm": "#fde2e1", "text": "#eeeeee", "metric": "#dbe9fb"}

_PLACEHOLDER = re.compile(r"@@\d+@@")

Templates = Mapping[str, Mapping[str, Any]]


def dashboard(templates: Templates) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(its stack, the dashboard body with each reference as ``@@n@@``, the references by placeholder)."""
    for stack, template in templates.items():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] == DASHBOARD:
                body = resource["Properties"]["DashboardBody"]
                parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
                references: dict[str, Any] = {}
                text = ""
                for part in parts:
                    if isinstance(part, str):
                        text += part
                    else:
                        placeholder = f"@@{len(references)}@@"
                        references[placeholder] = part
                        text += placeholder
                return stack, json.loads(text), references
    raise LookupError("no stack has a CloudWatch dashboard")


def resolve(templates: Templates, stack: str, reference: Any) -> tuple[str, str]:
    """The (stack, logical id) a reference in `stack`'s template points at, following cross-stack outputs."""
    if "Ref" in reference:
        return stack, reference["Ref"]
    if "Fn::GetAtt" in reference:
        return stack, reference["Fn::GetAtt"][0]
    if "Fn::GetStackOutput" in reference:
        output = reference["Fn::GetStackOutput"]
        value = templates[output["StackName"]]["Outputs"][output["OutputName"]]["Value"]
        return resolve(templates, output["StackName"], value)
    if "Fn::ImportValue" in reference:
        for name, template in templates.items():
            for output in template.get("Outputs", {}).values():
                if output.get("Export", {}).get("Name") == reference["Fn::ImportValue"]:
                    return resolve(templates, name, output["Value"])
    raise LookupError(f"cannot resolve {reference}")


def svg(templates: Templates) -> str:
    _, body, _ = dashboard(templates)
    widgets = body["widgets"]
    width = 24 * _CELL_WIDTH
    height = max(widget["y"] + widget["height"] for widget in widgets) * _CELL_HEIGHT
    shapes = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for widget in widgets:
        x, y = widget["x"] * _CELL_WIDTH, widget["y"] * _CELL_HEIGHT
        w, h = widget["width"] * _CELL_WIDTH, widget["height"] * _CELL_HEIGHT
        properties = widget["properties"]
        if widget["type"] == "text":
            label = properties["markdown"].splitlines()[0].lstrip("# ")
        else:
            label = properties.get("title", widget["type"])
        label = _PLACEHOLDER.sub("…", label).strip()  # a name known only at deployment
        shapes.append(
            f'<rect x="{x + 2}" y="{y + 2}" width="{w - 4}" height="{h - 4}" rx="4" '
            f'fill="{_FILL.get(widget["type"], "#ffffff")}" stroke="#8a8a8a"/>'
        )
        shapes.append(f'<text x="{x + 8}" y="{y + 16}">{escape(_fit(label, w))}</text>')
    shapes.append("</svg>")
    return "\n".join(shapes) + "\n"


def _fit(label: str, width: int) -> str:
    room = max(4, (width - 16) // 6)  # about 6 pixels per character at 11 px
    return label if len(label) <= room else label[: room - 1] + "…"


def main() -> None:
    from scripts.architecture_diagram import _synthesized_templates  # noqa: PLC0415 - synthesizes the app

    PICTURE.parent.mkdir(parents=True, exist_ok=True)
    PICTURE.write_text(svg(_synthesized_templates()))
    print(f"{PICTURE.relative_to(ROOT)}: dashboard layout updated")


if __name__ == "__main__":
    main()
