"""``run --watch``: the run follows the app's files while it serves.

- A change in a function's source folder (the folder its asset was staged from, found by content at
  start) gives that function a fresh worker on its next invocation, importing the folder ahead of
  the asset: no restart, no synth, the data stays.
- A change to anything else that defines the app (its Python modules, ``cdk.json``) re-synthesizes
  it with the CDK CLI (``cdk synth``, which runs the app command of ``cdk.json``) and re-provisions
  the run: resources whose template is unchanged keep their data; new or changed ones are created;
  the APIs (on the same ports), functions and event delivery restart.

Each reload is one log line saying what changed and what was done.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

log = logging.getLogger("constructs_lib.local")

POLL_INTERVAL = 0.5  # seconds between looks at the app's files
SETTLE_TIME = 0.3  # seconds a change must be quiet for: an editor's save may touch several files
_SKIPPED_DIRECTORIES = {".git", ".venv", "venv", "node_modules", "__pycache__", "tests", "docs", "cdk.out"}
_INFRASTRUCTURE_FILES = {"cdk.json", "cdk.context.json"}


def source_directory(asset: Path, handler: str, app_directory: Path, cdk_out: Path) -> Path | None:
    """The app's folder the asset was staged from: the one holding the handler module with equal content."""
    module = asset / f"{handler.rpartition('.')[0].replace('.', '/')}.py"
    if not module.is_file():
        return None
    content = module.read_bytes()
    relative = module.relative_to(asset)
    for candidate in _files(app_directory, cdk_out, {relative.name}):
        root = candidate.parents[len(relative.parts) - 1]
        if candidate.read_bytes() == content and root.resolve() != asset.resolve():
            return root
    return None


def _files(directory: Path, cdk_out: Path, names: set[str] | None = None) -> Iterator[Path]:
    """The app's files (or those named `names`), without caches, environments and the assembly."""
    for path in directory.iterdir():
        if path.is_dir():
            skipped = path.name in _SKIPPED_DIRECTORIES or path.name.startswith(".") or path == cdk_out
            if not skipped:
                yield from _files(path, cdk_out, names)
        elif names is None or path.name in names:
            yield path


def synth_command(app_directory: Path, cdk_out: Path) -> list[str] | None:
    """``cdk synth`` into `cdk_out` with the CLI the app uses (its node_modules' first), or None."""
    local = app_directory / "node_modules" / ".bin" / "cdk"
    cli = str(local) if local.exists() else shutil.which("cdk")
    if cli is None or not (app_directory / "cdk.json").exists():
        return None
    return [cli, "synth", "--quiet", "--output", str(cdk_out.absolute())]


class Watcher:
    """Polls the app's files; calls `reload_code` with changed source folders, else `reload_app`."""

    def __init__(
        self,
        app_directory: Path,
        cdk_out: Path,
        *,
        source_directories: Callable[[], set[Path]],
        reload_code: Callable[[set[Path]], None],
        reload_app: Callable[[list[Path]], None],
        interval: float = POLL_INTERVAL,
    ) -> None:
        self.app_directory = app_directory
        self.cdk_out = cdk_out
        self._sources = source_directories
        self._reload_code = reload_code
        self._reload_app = reload_app
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watch", daemon=True)
        self._seen = self._snapshot()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _snapshot(self) -> dict[Path, float]:
        snapshot = {}
        for path in _files(self.app_directory, self.cdk_out):
            relevant = path.suffix == ".py" or path.name in _INFRASTRUCTURE_FILES or self._in_source(path)
            if relevant:
                try:
                    snapshot[path] = path.stat().st_mtime
                except OSError:
                    continue  # deleted while we looked
        return snapshot

    def _in_source(self, path: Path) -> bool:
        return any(path.is_relative_to(source) for source in self._sources())

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self._look()
            except Exception:  # logged; the run keeps watching, and the next change retries
                log.exception("Watch: the reload failed; what it stopped stays stopped until the next change")

    def _look(self) -> None:
        snapshot = self._snapshot()
        changed = sorted(
            path for path in snapshot.keys() | self._seen.keys() if snapshot.get(path) != self._seen.get(path)
        )
        if not changed:
            return
        time.sleep(SETTLE_TIME)
        snapshot = self._snapshot()
        changed = sorted(
            path for path in snapshot.keys() | self._seen.keys() if snapshot.get(path) != self._seen.get(path)
        )
        self._seen = snapshot
        sources = self._sources()
        touched = {source for source in sources for path in changed if path.is_relative_to(source)}
        # A new requirement must be installed into the asset: only a synth does that.
        code_only = all(
            path.name != "requirements.txt" and any(path.is_relative_to(source) for source in sources)
            for path in changed
        )
        if code_only:
            self._reload_code(touched)
        else:
            self._reload_app(changed)


def run_synth(command: list[str], app_directory: Path) -> tuple[bool, str]:
    """Run the synth; (succeeded, its error output's last lines)."""
    finished = subprocess.run(command, cwd=app_directory, capture_output=True, text=True, check=False)
    tail = "\n".join((finished.stderr or finished.stdout).strip().splitlines()[-5:])
    return finished.returncode == 0, tail
