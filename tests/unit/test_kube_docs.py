"""The fake-port example in docs/kube-adapter.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "kube-adapter.md"


def test_fake_port_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    (example,) = [b for b in blocks if "FakeKube()" in b]
    exec(compile(example, str(DOC), "exec"), {})  # its own asserts check the outcome
