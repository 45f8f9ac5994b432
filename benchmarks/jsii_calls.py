"""Where the reference app's jsii calls go: per phase, and per construct of the library.

``python -m benchmarks.jsii_calls`` builds and synthesizes app.py's stacks in this process with
every request to the jsii kernel counted and timed (a wrapper around the kernel client's
``send``), and prints one JSON document. A call made while a library construct's code runs
(its constructor, a method, a helper it calls) counts for the innermost such construct's class;
calls made by app.py itself, outside any construct of the library, count as ``app.py``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = str(ROOT / "constructs_lib") + "/"
APP = str(ROOT / "app.py")


def _owner(frame: FrameType | None) -> tuple[str, int]:
    """The class and id of the innermost library construct running in `frame`'s stack."""
    from constructs import Construct  # noqa: PLC0415 -- loaded by then: a call is being made

    while frame is not None:
        if frame.f_code.co_filename.startswith(LIBRARY):
            candidate = frame.f_locals.get("self")
            if isinstance(candidate, Construct) and type(candidate).__module__.startswith("constructs_lib"):
                return type(candidate).__name__, id(candidate)
        frame = frame.f_back
    return "app.py", 0


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from jsii._kernel.providers import process  # noqa: PLC0415

    phase = "import"
    phases: dict[str, dict[str, float]] = defaultdict(lambda: {"calls": 0, "jsii_seconds": 0.0})
    constructs: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"calls": 0, "jsii_seconds": 0.0, "ids": set()}
    )
    send = process._NodeProcess.send

    def counted(self: Any, request: Any, response_type: Any) -> Any:
        start = time.perf_counter()
        try:
            return send(self, request, response_type)
        finally:
            elapsed = time.perf_counter() - start
            phases[phase]["calls"] += 1
            phases[phase]["jsii_seconds"] += elapsed
            if phase == "build":
                name, identity = _owner(sys._getframe(1))
                constructs[name]["calls"] += 1
                constructs[name]["jsii_seconds"] += elapsed
                constructs[name]["ids"].add(identity)

    process._NodeProcess.send = counted  # type: ignore[method-assign]
    wall: dict[str, float] = {}
    start = time.perf_counter()
    import aws_cdk  # noqa: F401, PLC0415 -- timed apart from the app and the library

    wall["import aws_cdk"] = time.perf_counter() - start
    start = time.perf_counter()
    import app  # noqa: PLC0415

    wall["import app.py and the library"] = time.perf_counter() - start
    phase = "build"
    start = time.perf_counter()
    built = app.build_app()  # as `python app.py` runs it: a new App with cdk.json's context
    wall["build the stacks"] = time.perf_counter() - start
    phase = "synth"
    start = time.perf_counter()
    built.synth()
    wall["synth"] = time.perf_counter() - start
    print(
        json.dumps(
            {
                "wall_seconds": {k: round(v, 3) for k, v in wall.items()},
                "phases": {
                    k: {"calls": int(v["calls"]), "jsii_seconds": round(v["jsii_seconds"], 3)}
                    for k, v in phases.items()
                },
                "constructs": {
                    name: {
                        "instances": len(entry["ids"]) if name != "app.py" else 1,
                        "calls": entry["calls"],
                        "jsii_seconds": round(entry["jsii_seconds"], 3),
                    }
                    for name, entry in sorted(constructs.items(), key=lambda item: -item[1]["calls"])
                },
            }
        )
    )


if __name__ == "__main__":
    main()
