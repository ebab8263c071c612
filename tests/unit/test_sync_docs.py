"""docs/sync.md: the worked example still runs and still prints what the page shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import yaml

from tmc_core.sync import parse_overrides

DOC = Path(__file__).resolve().parents[2] / "docs" / "sync.md"


def blocks() -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)```", DOC.read_text(), re.S)


def test_worked_example_output_matches_the_page() -> None:
    [program] = [body for lang, body in blocks() if lang == "python"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(program, str(DOC), "exec"), {"__name__": "docs_sync"})
    shown = [
        body.strip() for lang, body in blocks() if lang in ("yaml", "") and "name: eu-mirror" not in body
    ]
    assert len(shown) == 4  # rendered manifests, plan, aggregated status, verdict
    for body in shown:
        assert body in out.getvalue(), body[:200]


def test_override_example_parses() -> None:
    [example] = [body for lang, body in blocks() if lang == "yaml" and "name: eu-mirror" in body]
    [override] = parse_overrides(yaml.safe_load(example))
    assert override.target.label_selector is not None
    assert override.json_patches[0].path == "/spec/minReadySeconds"
