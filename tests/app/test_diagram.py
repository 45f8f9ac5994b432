"""The reference app page's architecture diagram is the one the synthesized templates produce."""

from __future__ import annotations

from typing import Any

from scripts.architecture_diagram import DIAGRAM_PAGE, mermaid, page_with


def test_docs_diagram_is_up_to_date(dev_templates: dict[str, dict[str, Any]]) -> None:
    page = DIAGRAM_PAGE.read_text()
    assert page_with(mermaid(dev_templates), page) == page, (
        "run `make diagram` and commit docs/reference-app.md"
    )


def test_diagram_shows_routes_events_and_access(dev_templates: dict[str, dict[str, Any]]) -> None:
    diagram = mermaid(dev_templates)
    assert '"POST /groups"| GroupsWriteFunction' in diagram
    assert '"object created"| ImageStoreUploadEvents' in diagram
    assert '"stream"| SearchIndexer' in diagram
    assert '"presigned URLs"| ImageStoreBucket' in diagram
    assert '"$connect"| WebSocketConnectFunction' in diagram
    assert '"authorizes"| Api' in diagram
