"""The README's examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

from societas import simulator

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def test_the_scenario_example_runs(tmp_path):
    code = re.search(r"```python\n(.*?)```", section("## Writing a scenario"), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    result = simulator.run({"scenario": {"name": "majority_vote", "rounds": 2},
                            "population": {"size": 4}, "out_dir": str(tmp_path),
                            "progress": False})
    assert result.outcomes[0].rounds == 2
    assert result.counters.decisions == 8
    assert result.counters.events == 8 + 1
