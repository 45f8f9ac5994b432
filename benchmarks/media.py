"""Budget 5: thumbnails, for a 12-megapixel JPEG and a 4000 x 3000 PNG, with peak memory.

Each sample is a fresh process (as a new Lambda container): it imports the thumbnail handler's
module and Pillow, reads the image, then times one thumbnail: the handler's `make_thumbnail`
against Pillow's own ``Image.thumbnail`` to the same width, saved as the same JPEG, alternately.
Peak memory is the process's high-water mark (VmHWM): what the function's memory_size must hold.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import PYTHON, ROOT, Budget, Row, Section, alternate, run_json

WIDTH, HEIGHT = 4000, 3000
THUMBNAIL_MEMORY_FALLBACK_MB = 1024


def _make_images(folder: Path) -> dict[str, Path]:
    """A photo-like 12 MP image (noise over gradients: compresses like a photo) as JPEG and as PNG."""
    from PIL import Image  # noqa: PLC0415

    noise = Image.effect_noise((WIDTH, HEIGHT), 40).convert("L")
    gradient = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    image = Image.merge("RGB", (noise, gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    paths = {"JPEG": folder / "photo.jpg", "PNG": folder / "photo.png"}
    image.save(paths["JPEG"], format="JPEG", quality=90)
    image.save(paths["PNG"], format="PNG", compress_level=1)
    return paths


def _high_water_mark() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def measure(way: str, path: Path) -> None:
    """In a fresh process: one thumbnail of `path` made `way` (handler or pillow); prints JSON."""
    sys.path.insert(0, str(ROOT / "lambda" / "thumbnail"))
    import thumbnail  # type: ignore[import-not-found]  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    data = path.read_bytes()
    before = _high_water_mark()
    start = time.perf_counter()
    if way == "handler":
        output = thumbnail.make_thumbnail(data)
    else:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail(
                (thumbnail.THUMBNAIL_WIDTH, thumbnail.THUMBNAIL_WIDTH * image.height // image.width)
            )
            buffer = io.BytesIO()
            image.convert("RGB").save(
                buffer, format="JPEG", quality=thumbnail.THUMBNAIL_QUALITY, optimize=True
            )
            output = buffer.getvalue()
    seconds = time.perf_counter() - start
    peak = _high_water_mark()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "process_peak_bytes": peak,
                "added_peak_bytes": peak - before,
                "bytes": len(output),
            }
        )
    )


def _memory_size(assembly: Path) -> int:
    for template_path in assembly.glob("*.template.json"):
        for resource in json.loads(template_path.read_text()).get("Resources", {}).values():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::Function" and str(properties.get("Handler", "")).startswith(
                "thumbnail."
            ):
                return int(properties.get("MemorySize", THUMBNAIL_MEMORY_FALLBACK_MB))
    return THUMBNAIL_MEMORY_FALLBACK_MB


def thumbnails(runs: int, assembly: Path) -> Section:
    section = Section()
    memory_size = _memory_size(assembly)
    peaks: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as work:
        for image_format, path in _make_images(Path(work)).items():
            results: dict[str, list[dict[str, Any]]] = {"handler": [], "pillow": []}

            def sample(
                way: str, path: Path = path, results: dict[str, list[dict[str, Any]]] = results
            ) -> float:
                result = run_json([PYTHON, "-m", "benchmarks.media", way, str(path)])
                results[way].append(result)
                return float(result["seconds"])

            handler, pillow = alternate(runs, lambda: sample("handler"), lambda: sample("pillow"))
            handler_row = Row(f"thumbnail: make_thumbnail, {WIDTH}x{HEIGHT} {image_format}", "s", handler)
            pillow_row = Row(
                f"thumbnail: Pillow Image.thumbnail, {WIDTH}x{HEIGHT} {image_format}", "s", pillow
            )
            process_peak = max(r["process_peak_bytes"] for r in results["handler"])
            added = max(r["added_peak_bytes"] for r in results["handler"])
            pillow_added = max(r["added_peak_bytes"] for r in results["pillow"])
            section.rows += [handler_row, pillow_row]
            peaks[image_format] = {
                "time_ratio_to_pillow": round(handler_row.median / pillow_row.median, 3),
                "make_thumbnail_added_peak_bytes": added,
                "pillow_added_peak_bytes": pillow_added,
                "function_process_peak_bytes": process_peak,
            }
            section.budgets.append(
                Budget(
                    f"5. thumbnail {image_format}: peak memory / memory_size ({memory_size} MB)",
                    process_peak / (memory_size * 2**20),
                    1.0,
                )
            )
    section.details["thumbnails"] = {"memory_size_mb": memory_size, **peaks}
    return section


if __name__ == "__main__":
    measure(sys.argv[1], Path(sys.argv[2]))
