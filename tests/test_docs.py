"""The docs site builds in strict mode, and its generated parts say what the code says.

One strict build per session (mkdocs, ~1-2 s: mkdocstrings reads the sources statically, so
no jsii starts); the tests read the HTML it wrote. This module runs in `make test`'s process
without the CDK (Makefile: RUNTIME_TESTS).
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import griffe
import pytest

from scripts.docs_hooks import (
    API_INDEX,
    LATEST_BENCH,
    ROOT,
    PublicName,
    api_pages,
    public_names,
)

DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_MAX_LINES = 80  # a repository page, not a manual


@dataclass(frozen=True)
class Site:
    path: Path
    log: str

    def page(self, src_uri: str) -> str:
        """The HTML mkdocs wrote for a page (directory URLs: ``x.md`` -> ``x/index.html``)."""
        stem = src_uri.removesuffix(".md")
        target = self.path / (
            "index.html" if stem == "index" else f"{stem.removesuffix('/index')}/index.html"
        )
        return target.read_text()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"`make docs` fails in strict mode:\n{log}"
    return Site(out, log)


def test_docs_build_in_strict_mode_without_warnings(site: Site) -> None:
    assert "WARNING" not in site.log, site.log
    assert (site.path / "index.html").is_file()


# --- the API reference -------------------------------------------------------------------------------


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _section(page_html: str, identifier: str) -> str:
    """The HTML of one documented object: from its heading to the next object's heading of its level."""
    start = page_html.index(f'id="{identifier}"')
    following = re.compile(r'id="(constructs_lib[\w.]*)"').finditer(page_html, start + 1)
    for match in following:
        if not match.group(1).startswith(f"{identifier}."):
            return page_html[start : match.start()]
    return page_html[start:]


def _page_of(public: PublicName) -> str:
    (page,) = [
        path for path, text in api_pages([public]).items() if path != API_INDEX and public.identifier in text
    ]
    return page


@functools.cache
def _package() -> griffe.Module:
    """The package as mkdocstrings sees it: read statically, never imported."""
    package = griffe.load("constructs_lib", search_paths=[str(ROOT)], resolve_aliases=False)
    assert isinstance(package, griffe.Module)
    return package


def _griffe_object(identifier: str) -> griffe.Object | griffe.Alias:
    package = _package()
    return package[identifier.removeprefix("constructs_lib.")] if identifier != "constructs_lib" else package


PUBLIC = public_names()


def test_all_names_are_in_the_reference_index(site: Site) -> None:
    index = site.page(API_INDEX)
    missing = [public.name for public in PUBLIC if f"#{public.identifier}" not in index]
    assert not missing, f"names of constructs_lib.__all__ missing from the API reference index: {missing}"


@pytest.mark.parametrize("public", PUBLIC, ids=lambda public: public.name)
def test_every_public_name_its_props_and_methods_are_in_the_reference(site: Site, public: PublicName) -> None:
    page_html = site.page(_page_of(public))
    assert f'id="{public.identifier}"' in page_html, f"{public.identifier} is not documented"
    obj = _griffe_object(public.identifier)
    if isinstance(obj, griffe.Alias):  # re-exported from a private module: document what it names
        obj = obj.final_target
    if not isinstance(obj, griffe.Class):
        return
    section = _section(page_html, public.identifier)
    signature = _text(section.split("doc-signature", 2)[1]) if "doc-signature" in section else ""
    init = obj.members.get("__init__")
    if isinstance(init, griffe.Function):
        props = [p.name for p in init.parameters if p.name not in {"self", "scope", "construct_id"}]
        missing_props = [prop for prop in props if not re.search(rf"\b{prop}\b", signature)]
        assert not missing_props, (
            f"{public.name}: props missing from the reference signature: {missing_props}"
        )
    methods = [
        name
        for name, member in obj.members.items()
        if isinstance(member, griffe.Function) and not name.startswith("_")
    ]
    missing_methods = [m for m in methods if f'id="{public.identifier}.{m}"' not in page_html]
    assert not missing_methods, f"{public.name}: methods missing from the reference: {missing_methods}"
    attributes = [
        name
        for name, member in obj.members.items()
        if not name.startswith("_") and not member.is_alias and member.is_attribute
    ]
    missing_attributes = [a for a in attributes if f'id="{public.identifier}.{a}"' not in page_html]
    assert not missing_attributes, (
        f"{public.name}: attributes missing from the reference: {missing_attributes}"
    )


def test_every_construct_has_its_own_page() -> None:
    """Each public Construct subclass has a page named after its module under docs/constructs/."""
    pages = {path.stem for path in (DOCS / "constructs").glob("*.md")}
    missing = []
    for public in PUBLIC:
        obj = _griffe_object(public.identifier)
        if isinstance(obj, griffe.Alias):
            obj = obj.final_target
        if isinstance(obj, griffe.Class) and "Construct" in [str(base) for base in obj.bases]:
            module = public.module.rsplit(".", 1)[1].lstrip("_")
            if module.replace("_", "-") not in pages:
                missing.append(f"{public.name} (docs/constructs/{module.replace('_', '-')}.md)")
    assert not missing, f"constructs without their page: {missing}"


def test_a_name_without_a_known_module_fails_the_build(tmp_path: Path) -> None:
    init = tmp_path / "__init__.py"
    init.write_text(
        '_MODULES = {"AlarmTopic": "alarm_topic"}\n__all__ = ["AlarmTopic", "NotDefinedAnywhere"]\n'
    )
    with pytest.raises(ValueError, match="NotDefinedAnywhere"):
        public_names(init)


def test_a_name_defined_in_a_private_module_gets_a_page_of_its_own(tmp_path: Path) -> None:
    init = tmp_path / "__init__.py"
    init.write_text('_MODULES = {"StreamConsumer": "_stream_consumers"}\n__all__ = ["StreamConsumer"]\n')
    pages = api_pages(public_names(init))
    assert "::: constructs_lib._stream_consumers.StreamConsumer" in pages["api/stream_consumer.md"]
    assert not any("_stream_consumers.md" in path for path in pages)


def test_a_public_submodule_is_documented_as_a_module(tmp_path: Path) -> None:
    init = tmp_path / "__init__.py"
    init.write_text('_MODULES = {"checks": "checks"}\n__all__ = ["checks"]\n')  # a real submodule
    (public,) = public_names(init)
    assert (public.identifier, public.is_module) == ("constructs_lib.checks", True)
    assert "::: constructs_lib.checks\n" in api_pages([public])["api/checks.md"]


def test_a_new_public_name_gets_a_reference_entry_without_a_docs_edit(tmp_path: Path) -> None:
    init = tmp_path / "__init__.py"
    init.write_text('_MODULES = {"Thing": "thing_module"}\n__all__ = ["Thing"]\n')
    pages = api_pages(public_names(init))
    assert "::: constructs_lib.thing_module.Thing" in pages["api/thing_module.md"]
    assert "#constructs_lib.thing_module.Thing" in pages[API_INDEX]


# --- generated figures, README -----------------------------------------------------------------------


def test_performance_page_shows_the_latest_benchmark_figures(site: Site) -> None:
    latest = json.loads(LATEST_BENCH.read_text())
    page = _text(site.page("performance.md"))
    assert latest["timestamp"] in page
    for row in latest["rows"]:
        assert row["name"] in page
        if row["unit"] == "s":
            assert f"{row['median']:.2f} s" in page, row
    for budget in latest["budgets"]:
        assert budget["name"] in page


def test_readme_is_a_page_with_the_two_commands_and_links_to_the_docs() -> None:
    readme = README.read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    assert "make synth" in readme
    assert "make test" in readme
    assert "make docs" in readme
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / link).is_file(), f"README links to a missing page: {link}"
    for page in sorted((DOCS / "constructs").glob("*.md")):
        assert f"docs/constructs/{page.name}" in readme, f"README's construct table lacks {page.name}"
    index_rows = re.findall(r"^\| \[`(\w+)`\]\(constructs/", (DOCS / "index.md").read_text(), re.MULTILINE)
    readme_rows = re.findall(r"^\| `(\w+)` \|", readme, re.MULTILINE)
    assert readme_rows == index_rows, "README's construct table differs from docs/index.md's"
