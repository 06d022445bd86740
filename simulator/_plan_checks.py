"""Checks `plan_run` makes so that a value a run cannot use fails before the run starts.

Each raises `ConfigError` naming the key path: a non-finite number among the scenario's or a
strategy's parameters, an ``out_dir`` below a file, an intervention naming an agent, step or
simulation the run never has, a ``fixed`` strategy answer the question would refuse.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from societas.simulator._config import RunConfig
from societas.simulator._errors import ConfigError
from societas.simulator._questions import AnswerError, Question

if TYPE_CHECKING:
    from societas.simulator._scenario import Scenario


def check_finite(values: Mapping[str, Any], prefix: str) -> None:
    """Refuse ``inf`` and ``nan`` anywhere in `values` (raw config, as the user gave it).

    The raw values are checked, not the validated model, so a field whose default is infinite
    (an unbounded clip, say) keeps it when the user leaves it out.
    """
    for path, value in _numbers(values, prefix):
        if not math.isfinite(value):
            raise ConfigError(path, f"must be a finite number, got {value!r} (leave a bound "
                              "out for no bound)")


def _numbers(value: Any, path: str) -> Iterator[tuple[str, float]]:
    if isinstance(value, float):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _numbers(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _numbers(item, f"{path}.{i}")


def check_out_dir(out_dir: str) -> None:
    """Refuse an ``out_dir`` that is, or lies below, something other than a folder."""
    path = Path(out_dir)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                what = "is" if part == path else f"lies below {part}, which is"
                raise ConfigError("out_dir", f"{out_dir} {what} a file, not a folder")
            return


def check_intervention_targets(config: RunConfig, scenario_cls: type[Scenario],
                               scenario_config: BaseModel) -> None:
    """Each intervention names an agent the run has, a step it reaches and a simulation it has."""
    if not config.interventions:
        return
    agents = scenario_cls.agent_ids(scenario_config, config)
    last_step = scenario_cls.max_steps(scenario_config, config)
    for i, intervention in enumerate(config.interventions):
        where = f"interventions.{i}"
        if agents is not None and intervention.agent not in agents:
            known = sorted(agents)
            shown = ", ".join(known[:6]) + (f", … ({len(known)} in all)" if len(known) > 6 else "")
            raise ConfigError(f"{where}.agent", f"{scenario_cls.name} has no agent "
                              f"{intervention.agent!r}; its agents: {shown}")
        if last_step is not None and intervention.step > last_step:
            raise ConfigError(f"{where}.step", f"{intervention.step} is beyond the last step "
                              f"this run can reach ({last_step})")
        if intervention.sim is not None and intervention.sim >= config.simulations:
            raise ConfigError(f"{where}.sim", f"{intervention.sim} is not a simulation of this "
                              f"run: simulations={config.simulations} numbers them 0 to "
                              f"{config.simulations - 1}")


def check_fixed_answers(answers: Mapping[str, Any], shapes: Mapping[str, Question[Any]],
                        path: str) -> None:
    """Each fixed answer (``params.answers``) fits the shape of the question it answers.

    Args:
        answers: the fixed answers, by question name.
        shapes: the scenario's questions as its config shapes them (`answer_shapes`); a
            question missing here depends on the simulation's state and is checked when asked.
        path: the key path of `answers` (``population.params.answers``).
    """
    for name, value in answers.items():
        shape = shapes.get(name)
        if shape is None:
            continue
        try:
            shape.from_json(value)
        except AnswerError as err:
            raise ConfigError(f"{path}.{name}", f"the {name!r} question would refuse this "
                              f"answer: {err}") from None


def agent_ids(size: int) -> list[str]:
    """The ids of a population of `size` agents (``a0``…, zero-padded to one width)."""
    width = len(str(size - 1))
    return [f"a{i:0{width}d}" for i in range(size)]
