"""Every registered scenario honours the engine's contract (simulator.testing.check_scenario)."""

from __future__ import annotations

import pytest

from societas.simulator import scenario_names
from societas.simulator.testing import check_scenario


@pytest.mark.parametrize("name", scenario_names())
def test_scenario_contract(name, tmp_path):
    check_scenario(name, tmp_path)
