"""The Python examples of the docs are programs that synthesize, with cdk-nag on.

Every ```python block on a construct page (docs/constructs/*.md) and on the getting-started
page is a complete program: it creates ``App()`` and its stacks. Each runs here, in this one
process (one jsii Node.js process for all), with the repository's feature flags, aws-cdk-lib's
built-in CloudFormation validation off (seconds per app, no template change) and the library's
cdk-nag packs on: an unacknowledged finding fails the example as it would fail a user's synth.

A block that is deliberately not a program (Lambda handler code, a signature listing) is
preceded by ``<!-- fragment: <reason> -->``; at most MAX_FRAGMENTS_PER_PAGE per page.
docs/contributing.md states the convention.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk
import pytest
from aws_cdk import cx_api

import constructs_lib
import constructs_lib.checks
from tests.cdk import CDK_CONTEXT, ROOT, cfn_lint_findings

DOCS = ROOT / "docs"
EXAMPLE_PAGES = (*sorted((DOCS / "constructs").glob("*.md")), DOCS / "getting-started.md")
MAX_FRAGMENTS_PER_PAGE = 2  # more means the page explains by fragments: write complete examples
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>[^`\s]*)\s*$")
_FRAGMENT = re.compile(r"^\s*<!--\s*fragment(?::\s*(?P<reason>.*?))?\s*-->\s*$")


@dataclass(frozen=True)
class Example:
    """One ```python block of a docs page."""

    page: str  # relative to the repository root
    line: int  # 1-based line of the opening fence
    code: str
    fragment_reason: str | None  # None: a program to run; "" a marker without its reason

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def extract_examples(page: str, text: str) -> list[Example]:
    """The ```python blocks of `text` with the fragment marker (if any) on the line before each."""
    examples: list[Example] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening or not opening.group("info"):
            index += 1
            continue
        indent, info = opening.group("indent"), opening.group("info")
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not re.match(rf"^{re.escape(indent)}```\s*$", lines[end]):
            body.append(lines[end].removeprefix(indent))
            end += 1
        if info == "python":
            previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
            marker = _FRAGMENT.match(previous)
            reason = (marker.group("reason") or "") if marker else None
            examples.append(Example(page, index + 1, "\n".join(body) + "\n", reason))
        index = end + 1
    return examples


def _page_examples() -> list[Example]:
    return [
        example
        for path in EXAMPLE_PAGES
        for example in extract_examples(str(path.relative_to(ROOT)), path.read_text())
    ]


EXAMPLES = _page_examples()
PROGRAMS = [example for example in EXAMPLES if example.fragment_reason is None]


class ExampleRun:
    """Runs example programs, recording every App they create so that each is synthesized."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.apps: list[aws_cdk.App] = []
        self.nag_checked: set[int] = set()

    def app_class(self) -> type[aws_cdk.App]:
        run = self
        real_add_nag_checks = constructs_lib.checks.add_nag_checks

        class ExampleApp(aws_cdk.App):
            def __init__(self, **props: Any) -> None:
                own_context = props.pop("context", None) or {}
                context = {**CDK_CONTEXT, "aws:cdk:version-reporting": False, **own_context}
                props.setdefault("outdir", str(run.outdir / f"app{len(run.apps)}"))
                props["builtin_cloud_formation_validation"] = False
                super().__init__(context=context, **props)
                real_add_nag_checks(self)
                run.nag_checked.add(id(self))
                run.apps.append(self)

        return ExampleApp

    def add_nag_checks(self, app: aws_cdk.App) -> None:
        """The example's own ``add_nag_checks(app)``: the packs are already on, not added twice."""
        if id(app) not in self.nag_checked:
            constructs_lib.checks.add_nag_checks(app)

    def run(self, example: Example, monkeypatch: pytest.MonkeyPatch) -> list[cx_api.CloudAssembly]:
        first_app = len(self.apps)
        monkeypatch.setattr(aws_cdk, "App", self.app_class())
        monkeypatch.setattr(constructs_lib, "add_nag_checks", self.add_nag_checks, raising=False)
        monkeypatch.setattr(constructs_lib.checks, "add_nag_checks", self.add_nag_checks)
        monkeypatch.chdir(ROOT)  # examples name folders (entry="lambda/...") from the repository root
        code = compile(example.code, example.name, "exec")
        exec(code, {"__name__": "__main__"})  # the docs' own examples: running them is the point
        apps = self.apps[first_app:]
        assert apps, f"{example.name}: creates no App(); mark it <!-- fragment: reason --> if not a program"
        return [app.synth() for app in apps]  # an app the example synthesized returns its assembly again


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleRun]:
    yield ExampleRun(tmp_path_factory.mktemp("docs-examples"))


def test_pages_have_examples() -> None:
    pages_without = [
        str(path.relative_to(ROOT))
        for path in EXAMPLE_PAGES
        if not any(e.page == str(path.relative_to(ROOT)) for e in PROGRAMS)
    ]
    assert not pages_without, f"pages without a runnable example: {pages_without}"


@pytest.mark.parametrize("example", PROGRAMS, ids=lambda example: example.name)
def test_example_synthesizes_with_cdk_nag(
    example: Example, example_run: ExampleRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    for assembly in example_run.run(example, monkeypatch):
        assert assembly.stacks_recursively, f"{example.name}: synthesizes no stack"
        # What CloudFormation would refuse (a circular reference, say) fails the example too.
        for stack in assembly.stacks_recursively:
            assert cfn_lint_findings(stack.template) == [], f"{example.name}: {stack.stack_name}"


def test_fragments_are_few_and_say_why() -> None:
    fragments = [example for example in EXAMPLES if example.fragment_reason is not None]
    assert all(example.fragment_reason for example in fragments), [
        example.name for example in fragments if not example.fragment_reason
    ]
    per_page: dict[str, int] = {}
    for example in fragments:
        per_page[example.page] = per_page.get(example.page, 0) + 1
    crowded = {page: count for page, count in per_page.items() if count > MAX_FRAGMENTS_PER_PAGE}
    assert not crowded, f"more than {MAX_FRAGMENTS_PER_PAGE} fragments on a page: {crowded}"


# --- the extractor and the runner catch broken examples ----------------------------------------------

BROKEN_PAGE = """# A page

Text.

```python
from aws_cdk import App, Stack

from constructs_lib import AlarmTopic

app = App()
AlarmTopic(Stack(app, "Alarms"), "Topic", email_addresses=["not an address"])
```

<!-- fragment: handler code -->
```python
print("not run")
```

```bash
make synth
```
"""


def test_extractor_finds_programs_fragments_and_their_lines() -> None:
    examples = extract_examples("docs/broken.md", BROKEN_PAGE)
    assert [(e.line, e.fragment_reason) for e in examples] == [(5, None), (15, "handler code")]
    assert examples[0].code.startswith("from aws_cdk import App, Stack\n")


def test_a_broken_example_fails(example_run: ExampleRun, monkeypatch: pytest.MonkeyPatch) -> None:
    (program, _) = extract_examples("docs/broken.md", BROKEN_PAGE)
    with pytest.raises(ValueError, match=r"Alarms/Topic: email_addresses\[0\]"):
        example_run.run(program, monkeypatch)


def test_an_example_with_a_cdk_nag_finding_fails(
    example_run: ExampleRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = """
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

app = App()
s3.Bucket(Stack(app, "Plain"), "Unencrypted")
"""
    with pytest.raises(Exception, match="AwsSolutions-S1"):
        example_run.run(Example("docs/broken.md", 1, code, None), monkeypatch)


def test_a_block_that_makes_no_app_fails(example_run: ExampleRun, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AssertionError, match="creates no App"):
        example_run.run(Example("docs/broken.md", 1, "x = 1\n", None), monkeypatch)
