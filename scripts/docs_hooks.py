"""mkdocs hooks: the pages of the docs site that are generated at build time, never copied by hand.

- The API reference (``api/``): one page per module that defines a name of
  ``constructs_lib.__all__``, read from ``constructs_lib/__init__.py`` without importing it, plus
  the documented entry points of the runtime helpers and the local runner. A public name added to
  ``__all__`` appears in the reference with no edit here; mkdocstrings renders each from its
  docstring and type hints.
- The performance figures: ``<!-- benchmarks:latest -->`` on a page becomes tables of
  ``benchmarks/results/latest.json``, the file ``make bench`` writes.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.livereload import LiveReloadServer
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "constructs_lib"
LATEST_BENCH = ROOT / "benchmarks" / "results" / "latest.json"
BENCH_MARKER = "<!-- benchmarks:latest -->"
API_DIR = "api"
API_INDEX = f"{API_DIR}/index.md"

# Modules outside ``__all__`` that users import by path: what Lambda handlers import from the
# library (no CDK), and the local runner's programmatic entry point.
ENTRY_POINT_MODULES = (
    ("Runtime helpers (in Lambda)", "constructs_lib.runtime.presign"),
    ("Runtime helpers (in Lambda)", "constructs_lib.runtime.opensearch"),
    ("Runtime helpers (in Lambda)", "constructs_lib.runtime.cors"),
    ("Runtime helpers (in Lambda)", "constructs_lib.runtime.tracing"),
    ("Local runner", "constructs_lib.local.runner"),
)


# mkdocstrings options that render a module's docstring alone, its members left to their own entries.
_MODULE_DOCSTRING_ONLY = (
    "    options:",
    "      members: false",
    "      show_root_heading: false",
    "      show_root_toc_entry: false",
)


@dataclass(frozen=True)
class PublicName:
    """One name of ``constructs_lib.__all__`` and where mkdocstrings finds it."""

    name: str
    module: str  # dotted path of the defining module
    is_module: bool  # the name is itself a submodule (``constructs_lib.testing``)

    @property
    def identifier(self) -> str:
        return self.module if self.is_module else f"{self.module}.{self.name}"


def _literal_assignment(tree: ast.Module, target: str) -> Any:
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        else:
            continue
        if target in names and node.value is not None:
            return ast.literal_eval(node.value)
    return None


def _is_submodule(name: str) -> bool:
    return (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name / "__init__.py").is_file()


def _defined_in_package_init(tree: ast.Module, name: str) -> bool:
    return any(
        isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name for node in tree.body
    ) or any(
        isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        for node in tree.body
    )


def public_names(init: Path = PACKAGE / "__init__.py") -> list[PublicName]:
    """Every name of ``__all__``, with its defining module (from the lazy-import table ``_MODULES``).

    Raises ValueError for a name whose module cannot be told: the reference would miss it.
    """
    tree = ast.parse(init.read_text())
    names: list[str] = _literal_assignment(tree, "__all__") or []
    modules: dict[str, str] = _literal_assignment(tree, "_MODULES") or {}
    found: list[PublicName] = []
    unknown: list[str] = []
    for name in names:
        if name in modules:
            module = modules[name].lstrip(".")
            is_module = module == name and _is_submodule(name)  # {"testing": "testing"}: the module itself
            found.append(PublicName(name, f"constructs_lib.{module}", is_module=is_module))
        elif _is_submodule(name):
            found.append(PublicName(name, f"constructs_lib.{name}", is_module=True))
        elif _defined_in_package_init(tree, name):
            found.append(PublicName(name, "constructs_lib", is_module=False))
        else:
            unknown.append(name)
    if unknown:
        raise ValueError(
            f"constructs_lib.__all__ names {', '.join(unknown)} but neither _MODULES nor a submodule "
            "defines it: add it to _MODULES so the API reference can document it"
        )
    return found


def _is_private(module: str) -> bool:
    return any(part.startswith("_") for part in module.split("."))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _module_page(module: str) -> str:
    return f"{API_DIR}/{module.removeprefix('constructs_lib.').replace('.', '/') or 'constructs_lib'}.md"


def api_pages(names: list[PublicName]) -> dict[str, str]:
    """Markdown of every API reference page, by path under docs/."""
    by_module: dict[str, list[PublicName]] = {}
    for public in names:
        by_module.setdefault(public.module, []).append(public)
    pages: dict[str, str] = {}
    index = [
        "# API reference",
        "",
        "Generated from the docstrings and type hints of the public API: the names of",
        "`constructs_lib.__all__` (import them as `from constructs_lib import Name`), then the",
        "modules that Lambda handlers and tests import by path. Options are keyword-only",
        "constructor arguments; their defaults are in each signature.",
        "",
        "| Name | Module |",
        "| --- | --- |",
    ]
    rows: list[tuple[str, str]] = []  # (name, table row), sorted by name below
    for module, members in sorted(by_module.items()):
        if _is_private(module):
            # Defined in a private module and re-exported: one page per name, titled by its public path.
            for public in members:
                page = f"{API_DIR}/{_snake(public.name)}.md"
                pages[page] = "\n".join(
                    [
                        f"# `constructs_lib.{public.name}`",
                        "",
                        f"`from constructs_lib import {public.name}`",
                        "",
                        f"::: {public.identifier}",
                        "",
                    ]
                )
                link = f"[`{public.name}`]({Path(page).relative_to(API_DIR)}#{public.identifier})"
                rows.append((public.name, f"| {link} | `constructs_lib` |"))
            continue
        page = _module_page(module)
        body = [f"# `{module}`", ""]
        if not any(public.is_module for public in members):
            body += [f"::: {module}", *_MODULE_DOCSTRING_ONLY, ""]  # what it creates, its defaults
        for public in members:
            if public.is_module:
                body += [f"::: {public.identifier}", "    options:", "      show_submodules: false", ""]
            else:
                body += [f"`from constructs_lib import {public.name}`", "", f"::: {public.identifier}", ""]
            link = f"[`{public.name}`]({Path(page).relative_to(API_DIR)}#{public.identifier})"
            rows.append((public.name, f"| {link} | `{module}` |"))
        pages[page] = "\n".join(body)
    index += [row for _, row in sorted(rows, key=lambda named: named[0].lower())]
    index += ["", "## Modules imported by path", ""]
    for group, module in ENTRY_POINT_MODULES:
        page = _module_page(module)
        if page in pages:  # already documented through __all__
            continue
        pages[page] = "\n".join([f"# `{module}`", "", f"{group}.", "", f"::: {module}", ""])
        index.append(f"- {group}: [`{module}`]({Path(page).relative_to(API_DIR)})")
    pages[API_INDEX] = "\n".join(index) + "\n"
    return pages


def _nav_title(markdown: str) -> str:
    """A reference page's nav title: its main public name (the one its module is named after)."""
    module = markdown.splitlines()[0].removeprefix("# ").strip("`").removeprefix("constructs_lib.")
    names = re.findall(r"^`from constructs_lib import (\w+)`$", markdown, flags=re.MULTILINE)
    if not names:  # a module imported by path, or a public submodule
        return module
    main = [name for name in names if _snake(name) == module.rsplit(".", 1)[-1]]
    return main[0] if main else ", ".join(names)


def _api_nav(pages: dict[str, str]) -> list[Any]:
    """The nav entries of the reference: its index, then each page titled by its main name."""
    titled = sorted(
        ((_nav_title(pages[path]), path) for path in pages if path != API_INDEX),
        key=lambda entry: ("." in entry[0], entry[0].lower()),  # modules imported by path come last
    )
    return [{"All public names": API_INDEX}, *({title: path} for title, path in titled)]


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Generate the reference pages and turn the nav's ``API reference`` entry into their section.

    Runs on every build, also each rebuild under ``mkdocs serve``, so a new public name appears.
    """
    pages = api_pages(public_names())
    config.extra["_generated_api_pages"] = pages
    nav: list[Any] = config.nav or []
    for position, entry in enumerate(nav):
        if isinstance(entry, dict) and API_INDEX in entry.values():
            (title,) = entry
            nav[position] = {title: _api_nav(pages)}
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    pages: dict[str, str] = config.extra["_generated_api_pages"]
    for path, content in pages.items():
        if files.get_file_from_path(path) is not None:
            raise ValueError(f"docs/{path} is generated from constructs_lib.__all__: delete the file")
        files.append(File.generated(config, path, content=content))
    return files


def _seconds(value: float, unit: str) -> str:
    return f"{value:.2f} {unit}" if unit == "s" else f"{value:g} {unit}"


def benchmark_tables(latest: dict[str, Any]) -> str:
    """Markdown tables of one ``make bench`` result, as ``benchmarks/bench.py`` writes it."""
    machine = latest.get("machine", {})
    load = machine.get("load_average")
    conditions = f", load average {load[0]:.1f}" if load else ""
    conditions += " (a `--quick` run: checks the harness, not the budgets)" if latest.get("quick") else ""
    lines = [
        f"Run `{latest.get('timestamp', '?')}` on {machine.get('cpus', '?')} cores, "
        f"Python {machine.get('python', '?')}{conditions} (`benchmarks/results/latest.json`).",
        "",
        "| Measurement | Median | Min | Max | Samples |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in latest.get("rows", []):
        unit = row.get("unit", "")
        lines.append(
            f"| {row['name']} | {_seconds(row['median'], unit)} | {_seconds(row['min'], unit)} | "
            f"{_seconds(row['max'], unit)} | {row.get('samples', '')} |"
        )
    lines += ["", "| Budget | Value | Limit | Met |", "| --- | --- | --- | --- |"]
    for budget in latest.get("budgets", []):
        met = "yes" if budget["ok"] else "**no**"
        lines.append(f"| {budget['name']} | {budget['value']:.2f} | ≤ {budget['budget']:g} | {met} |")
    assets = latest.get("assets", [])
    if assets:
        lines += [
            "",
            "| Function code asset | Module | Size | Forbidden contents |",
            "| --- | --- | --- | --- |",
        ]
        for asset in assets:
            forbidden = ", ".join(asset.get("forbidden_contents", [])) or "none"
            size = f"{asset['bytes'] / 1024:.1f} KiB"
            lines.append(f"| `{asset['function']}` | `{asset['module']}` | {size} | {forbidden} |")
    memory = latest.get("peak_synth_memory_bytes")
    if memory:
        lines += ["", f"Peak memory of `python app.py` with its jsii process: {memory / 2**20:.0f} MiB."]
    return "\n".join(lines + _bench_details(latest)) + "\n"


def _bench_details(latest: dict[str, Any]) -> list[str]:
    """The jsii calls per construct, the growth slopes and the fan-out run, when the result has them."""
    lines: list[str] = []
    calls = latest.get("jsii_calls")
    if calls:
        phases = ", ".join(f"{figures['calls']} while {phase}" for phase, figures in calls["phases"].items())
        lines += ["", f"jsii calls of the reference app: {phases}.", ""]
        lines += ["| Construct | Instances | jsii calls | Per instance |", "| --- | --- | --- | --- |"]
        for name, figures in calls["constructs"].items():
            per = figures["calls"] / max(figures["instances"], 1)
            lines.append(f"| `{name}` | {figures['instances']} | {figures['calls']} | {per:.0f} |")
    growth = latest.get("growth")
    if growth:
        lines += [
            "",
            f"Synth growth per repetition: library {growth['library_seconds_per_repeat'] * 1000:.0f} ms, "
            f"CfnResource baseline {growth['baseline_seconds_per_repeat'] * 1000:.0f} ms "
            f"(R² {growth['library_r2']:.3f} and {growth['baseline_r2']:.3f}).",
        ]
        if growth.get("plain_l2_slope_ratio") is not None:
            lines[-1] += (
                f" The same unit from aws-cdk-lib's L2s alone (reference): "
                f"{growth['plain_l2_seconds_per_repeat'] * 1000:.0f} ms against its baseline's "
                f"{growth['plain_l2_baseline_seconds_per_repeat'] * 1000:.0f} ms, a slope ratio of "
                f"{growth['plain_l2_slope_ratio']:.2f}."
            )
    reference = latest.get("plain_l2_overhead")
    if reference:
        lines += [
            "",
            f"Reference for budget 1: aws-cdk-lib's L2s alone ({reference['resources']} resources) "
            f"take {reference['ratio']['on']:.2f} times their CfnResource baseline with validation on and "
            f"{reference['ratio']['off']:.2f} times off.",
        ]
    fan_out = latest.get("fan_out")
    if fan_out:
        complete = "yes" if fan_out["every_connection_notified_or_removed"] else "**no**"
        lines += [
            "",
            f"Fan-out: {fan_out['connections']:,} connections, {fan_out['concurrency']} posts in flight, "
            f"at most {fan_out['max_posts_per_second']:g} posts/s; bound {fan_out['bound_seconds']:.1f} s; "
            f"every connection notified or removed: {complete}.",
        ]
    return lines


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if BENCH_MARKER in markdown:
        markdown = markdown.replace(BENCH_MARKER, benchmark_tables(json.loads(LATEST_BENCH.read_text())))
    return markdown


def on_serve(server: LiveReloadServer, config: MkDocsConfig, builder: Any) -> LiveReloadServer:
    # Live reload also when the sources of generated pages change.
    server.watch(str(PACKAGE))
    server.watch(str(LATEST_BENCH))
    return server
