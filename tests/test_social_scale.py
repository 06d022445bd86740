"""10,000 scripted Werewolf games and 10,000 scripted Traitors games, each as one batched run.

Each run plays every game of the default rules with the ``heuristic`` baselines, writes the
full event and call logs, and prints games/s and the win rates (with 95% intervals) computed
from the event log by the scenario's summary; the printed figures are the CI's record.

32 games are alive at once (each batch to the scripted backend holds requests from up to 32
games): on the CPU-bound scripted backend more live games only add memory traffic and garbage-
collector work (measured: 256 at once is about 30% slower, 512 about 45%).
"""

from __future__ import annotations

from collections import Counter

import pytest

from societas import simulator
from societas.analysis import events, summary_for

GAMES = 10_000


@pytest.mark.slow
@pytest.mark.parametrize(("name", "size", "sides"), [
    ("werewolf", 8, ("werewolves", "villagers")),
    ("traitors", 10, ("traitors", "faithfuls")),
])
def test_ten_thousand_scripted_games_in_one_run(tmp_path, capsys, name, size, sides):
    result = simulator.run({
        "scenario": {"name": name},
        "population": {"size": size, "strategy": "heuristic"},
        "simulations": GAMES, "concurrency": 32, "seed": 2026, "out_dir": str(tmp_path),
        "progress": False,
    })
    assert len(result.outcomes) == GAMES
    winners = Counter(o.winner for o in result.outcomes)
    assert set(winners) == set(sides)  # both sides win games; no draws under the baselines
    summary = summary_for(name)(events(result.run_dir))
    assert summary["games"] == GAMES
    for side in sides:
        shown = summary[f"{side} win rate [95% CI]"]
        assert shown.startswith(f"{winners[side] / GAMES:.3f} ")  # the log agrees
        assert shown.endswith(f"(n={GAMES})")
    c = result.counters
    with capsys.disabled():
        print(f"\n{name}: {GAMES:,} scripted games in {result.wall_s:.1f} s "
              f"({GAMES / result.wall_s:.0f} games/s, {c.decisions / GAMES:.0f} decisions "
              f"per game, {c.decisions / result.wall_s:,.0f} decisions/s); "
              + "; ".join(f"{side} win rate {summary[f'{side} win rate [95% CI]']}"
                          for side in sides)
              + f"; mean rounds {summary['mean rounds']:.2f}")
