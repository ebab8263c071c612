"""The README's promises hold: its library example runs, and its first lines name the two commands."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_library_example_runs_and_places_every_replica(capsys) -> None:  # type: ignore[no-untyped-def]
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    exec(compile(block.group(1), "README.md", "exec"), {})
    out = capsys.readouterr().out
    replicas = [int(n) for n in re.findall(r"'replicas': (\d+)", out)]
    assert sum(replicas) == 6
    assert "clusters fit" in out


def test_first_lines_give_the_run_and_test_commands() -> None:
    head = README.read_text().splitlines()[:5]
    assert any("tmcctl place" in line for line in head)
    assert any("python -m pytest" in line for line in head)
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pip install --quiet -e '.[dev]' && python -m pytest" in ci
