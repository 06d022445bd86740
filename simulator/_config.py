"""Run configuration: pydantic models, validated at the boundary with one-line errors.

Hydra composes YAML and overrides into a plain dict; `validate_run` turns that dict into typed
models and raises `ConfigError` naming the key path, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from societas.simulator._errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyGroup(_Strict):
    """A block of agents sharing a policy: a scripted strategy, or the model when unset."""

    count: int = Field(ge=1)
    strategy: str | None = None
    params: dict[str, Any] = {}
    persona: dict[str, Any] = {}


MAX_POPULATION = 10_000_000
"""The most agents one simulation may hold (the classical opinion models run 10^5 and more)."""


class PopulationConfig(_Strict):
    """Who is in the society.

    Agents not covered by `groups` use the run's model backend, or the scripted `strategy` when
    the backend is ``scripted``. `personas` is a pool of persona records assigned in order (and
    cycled); a group's `persona` fields override them. `memory` bounds each memory channel
    (see `_setup.memory_limits`); the planned config holds it resolved, ``{channel: k}``.
    """

    size: int = Field(default=12, ge=1, le=MAX_POPULATION, description="agents per simulation "
                      f"(at most {MAX_POPULATION:,}: every agent is built when a simulation "
                      "starts)")
    strategy: str = "random"
    params: dict[str, Any] = {}
    groups: list[PolicyGroup] = []
    memory: int | dict[str, int] | None = Field(
        default=None, description="memory entries kept per agent and channel (the last k): an "
        "int for every channel, {channel: k} for some; unset: the scenario's defaults")
    personas: list[dict[str, Any]] = []

    @field_validator("memory", mode="before")
    @classmethod
    def _memory_bounds(cls, value: Any) -> Any:
        if value is None:
            return None
        bounds = value.items() if isinstance(value, Mapping) else [(None, value)]
        for channel, bound in bounds:
            if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
                where = "" if channel is None else f" (channel {channel!r})"
                message = (f"a memory bound is a whole number >= 0{where}; give an int for "
                           "every channel or a {channel: bound} mapping")
                raise PydanticCustomError("memory_bound", "{message}", {"message": message})
        return value


class BackendConfig(BaseModel):
    """Which backend answers model-policy agents, and its sampling defaults.

    Backend-specific keys (a model path, a server URL) are allowed here; the settings the
    backend declares decide which (`societas.simulator._registry.check_backend`, when a run is
    planned).
    """

    model_config = ConfigDict(extra="allow")

    name: str = "scripted"
    max_batch: int = Field(default=4096, ge=1)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=256, ge=1)


class GraphConfig(BaseModel):
    """The social graph: a registered builder name plus its parameters."""

    model_config = ConfigDict(extra="allow")

    name: str = "none"


class Intervention(_Strict):
    """A scripted intervention: `agent` answers `question` at `step` with `answer`.

    Applies in every simulation unless `sim` is set; the answer must fit the question's shape.
    Use it in a fork to ask "what if the seer had revealed on day 2?".
    """

    agent: str
    step: int = Field(ge=0)
    question: str
    answer: Any
    sim: int | None = Field(default=None, ge=0)


MAX_SIMULATIONS = 1_000_000
"""The most simulations one run may hold: every simulation's state, outcome and counters live in
one process (10**12 failed with MemoryError before the first step); larger studies sweep seeds."""


class RunConfig(_Strict):
    """Everything that defines a run; the manifest records it resolved."""

    scenario: dict[str, Any]
    backend: BackendConfig = BackendConfig()
    population: PopulationConfig = PopulationConfig()
    graph: GraphConfig = GraphConfig()
    seed: int = Field(default=0, ge=0)
    simulations: int = Field(
        default=1, ge=1, le=MAX_SIMULATIONS, description="independent simulations in this run "
        f"(at most {MAX_SIMULATIONS:,}: a run holds one record per simulation in memory; "
        "more is a sweep over seeds)")
    concurrency: int | None = Field(default=None, ge=1,
                                    description="simulations alive at once (all)")
    max_attempts: int = Field(default=3, ge=1,
                              description="tries per question before the fallback")
    max_fallback_share: float = Field(
        default=0.05, ge=0.0, le=1.0,
        description="the fallback budget: the run fails when more than this share of its "
        "model answers were fallbacks, overall or in any one simulation (counted as at least "
        "20 answers, so a short simulation may hold one). 0 is strict: no fallback at all; "
        "1 turns the budget off. Default 0.05: every recorded run of the embedded SmolLM2 on "
        "vLLM with structured decoding had 0 fallbacks, while a dead or rate-limiting server "
        "gives ~100%. Only model-policy answers count (see simulator/_budget.py)")
    out_dir: str = "runs"
    run_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._=-]*$")
    progress: bool = True
    chunk_rows: int = Field(default=50_000, ge=1, description="log rows per Parquet chunk")
    interventions: list[Intervention] = []

    @property
    def scenario_name(self) -> str:
        """The registered scenario name."""
        return str(self.scenario.get("name", ""))

    def scenario_params(self) -> dict[str, Any]:
        """The scenario's parameters (everything but its name)."""
        return {k: v for k, v in self.scenario.items() if k != "name"}


def format_validation_error(err: ValidationError, model: type[BaseModel],
                            prefix: str = "") -> ConfigError:
    """The first pydantic error as a one-line `ConfigError` with a dotted key path."""
    first = err.errors(include_url=False)[0]
    loc = tuple(first["loc"])
    path = ".".join(str(p) for p in (*(prefix.split(".") if prefix else ()), *loc))
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        allowed = f"; allowed keys here: {', '.join(parent.model_fields)}" if parent else ""
        return ConfigError(path, f"unknown key{allowed}")
    if first["type"] not in ("missing", "value_not_shown") and "input" in first:  # secrets
        message += f" (got {first['input']!r})"
    return ConfigError(path, message)


def validate_model(model: type[BaseModel], data: Mapping[str, Any], prefix: str = "") -> Any:
    """`model.model_validate(data)` with errors turned into `ConfigError` under `prefix`."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as err:
        raise format_validation_error(err, model, prefix) from None


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The nested model class that a pydantic error location points into."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            args = get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            current = field.annotation if field else None
        else:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None
