"""Helpers shared by the inference-backend tests (real models, real processes)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from societas.simulator.backends import Request, RequestKey, Sampling
from societas.simulator.backends._reaper import process_start_time
from societas.simulator.scenario import Choice, Number

SYSTEM = ("Each player is given an initial endowment of 10 units of a resource. In each round, "
          "you are paired with another player. The donor decides how many units to give up; "
          "the recipient receives twice that amount.")


def donation_requests(count: int, *, seed: int = 0, max_tokens: int = 64,
                      temperature: float = 0.7) -> list[Request]:
    """Donor-game donation questions sharing one system prompt (a common prefix)."""
    requests = []
    for i in range(count):
        question = Number(name="donate", prompt=f"Your name is a{i}. You have {10 + i} units. "
                          "How many units do you give up?", low=0, high=10 + i)
        requests.append(Request(
            key=RequestKey(0, f"a{i}", 1, 0), policy="model", question=question,
            messages=[{"role": "system", "content": SYSTEM},
                      {"role": "user", "content": question.prompt_text()
                       + ' Reply with a JSON object only: {"answer": <a number>}'}],
            seed=seed * 1000 + i,
            sampling=Sampling(temperature=temperature, max_tokens=max_tokens)))
    return requests


def choice_requests(count: int, options: list[str], *, temperature: float = 1.0,
                    seed: int = 0) -> list[Request]:
    """A choice question asked of `count` agents with different seeds."""
    question = Choice(name="vote", prompt="Whom do you suspect? Reply with one name.",
                      options=options)
    return [Request(key=RequestKey(0, f"a{i}", 1, 0), policy="model", question=question,
                    messages=[{"role": "system", "content": SYSTEM},
                              {"role": "user", "content": question.prompt_text()
                               + " Reply with exactly one of: " + ", ".join(options) + "."}],
                    seed=seed * 1000 + i, sampling=Sampling(temperature=temperature,
                                                            max_tokens=16))
            for i in range(count)]


def small_donor_config(out_dir: Path, backend: dict[str, Any], **overrides: Any
                       ) -> dict[str, Any]:
    """A donor game sized for CPU tests: 4 games of 6 agents, 1 generation of 2 rounds."""
    config: dict[str, Any] = {
        "scenario": {"name": "donor_game", "generations": 1, "rounds": 2, "reasoning": False,
                     "strategy_words": 20},
        "population": {"size": 6}, "backend": {"max_tokens": 200, **backend},
        "simulations": 4, "seed": 11, "out_dir": str(out_dir), "progress": False,
    }
    config.update(overrides)
    return config


def tagged_env(**extra: str) -> tuple[dict[str, str], str]:
    """The environment for a child run, marked so that its descendants can be found later."""
    tag = uuid.uuid4().hex
    env = {**os.environ, "SOCIETAS_TEST_TAG": tag, "HF_HUB_OFFLINE": "1", "COLUMNS": "120",
           **extra}
    return env, tag


def run_processes(tag: str, group: int) -> dict[int, str]:
    """Live processes (not zombies) of a run started in its own process group `group`.

    A process belongs to the run when it is in that process group (vLLM's engine core is: it
    renames itself, which wipes its /proc environ) or its environment carries
    ``SOCIETAS_TEST_TAG=tag`` (the reaper, which starts its own session). Maps pid to command.
    """
    marker = f"SOCIETAS_TEST_TAG={tag}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            environ = (entry / "environ").read_bytes()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if state != "Z" and (pgrp == group or marker in environ.split(b"\0")):
            found[int(entry.name)] = command
    return found


def alive(pids: set[int], started: dict[int, str | None]) -> set[int]:
    """The pids still running as the same process (start time unchanged)."""
    return {p for p in pids if started.get(p) and process_start_time(p) == started[p]}
