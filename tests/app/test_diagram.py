"""The README's architecture diagram is the one the synthesized templates produce."""

from __future__ import annotations

from typing import Any

from scripts.architecture_diagram import README, mermaid, readme_with


def test_readme_diagram_is_up_to_date(dev_templates: dict[str, dict[str, Any]]) -> None:
    readme = README.read_text()
    assert readme_with(mermaid(dev_templates), readme) == readme, "run `make diagram` and commit README.md"


def test_diagram_shows_routes_events_and_access(dev_templates: dict[str, dict[str, Any]]) -> None:
    diagram = mermaid(dev_templates)
    assert '"POST /groups"| GroupsWriteFunction' in diagram
    assert '"object created"| ImageStoreUploadEvents' in diagram
    assert '"stream"| SearchIndexer' in diagram
    assert '"presigned URLs"| ImageStoreBucket' in diagram
    assert '"$connect"| WebSocketConnectFunction' in diagram
    assert '"authorizes"| Api' in diagram
