"""The engine: runs many simulations as asyncio tasks and answers their questions in batches."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from societas.simulator._batcher import Batcher, BatchInfo, Slot
from societas.simulator._budget import FallbackBudget, error_kind
from societas.simulator._clock import now_utc
from societas.simulator._config import Intervention
from societas.simulator._errors import ReplayDivergence, SimulationError
from societas.simulator._events import Event, Outcome
from societas.simulator._history import History, describe_key
from societas.simulator._lifecycle import Lifecycle
from societas.simulator._population import MODEL_POLICY, AgentLike, AgentSpec
from societas.simulator._questions import AnswerError, Question
from societas.simulator._requests import Request, RequestKey, Response, Sampling
from societas.simulator._rows import CallRow, EventRow, LogSink
from societas.simulator._scenario import Scenario
from societas.simulator._seeding import derive_rng, derive_seed
from societas.simulator._sim import Host, Sim
from societas.simulator.backends._base import Backend

SCRIPTED = "scripted"
MODEL = "model"
REPLAY = "replay"
BACKEND_ERROR = "backend error: "
"""How the `error` column of a call row begins when the backend failed (no text came back)."""


class MemoryLog:
    """A `LogSink` keeping typed rows in lists (tests, benchmarks)."""

    def __init__(self) -> None:
        self.events: list[EventRow] = []
        self.calls: list[CallRow] = []

    def event(self, row: EventRow) -> None:
        """Append an event row."""
        self.events.append(row)

    def call(self, row: CallRow) -> None:
        """Append a call row."""
        self.calls.append(row)


@dataclass
class Counters:
    """Live counts, read by progress displays and copied into the manifest."""

    simulations: int = 0
    simulations_done: int = 0
    decisions: int = 0
    requests: int = 0
    parse_failures: int = 0
    """Attempts whose text did not parse (transport failures are counted apart)."""
    transport_failures: int = 0
    """Attempts the backend could not answer (`Response.error` set: HTTP 500, timeouts)."""
    fallbacks: int = 0
    model_answers: int = 0
    """Questions put to model-policy agents (answered or fallen back); the budget's base."""
    model_fallbacks: int = 0
    replayed: int = 0
    invalid_by_question: dict[str, int] = field(default_factory=dict)
    backend_errors: dict[str, int] = field(default_factory=dict)
    """Transport failures by kind (see `_budget.error_kind`) and where they came from."""
    events: int = 0
    max_step: int = 0
    started: float = field(default_factory=time.perf_counter)

    def as_dict(self) -> dict[str, Any]:
        """Counts for the manifest."""
        return {k: v for k, v in self.__dict__.items() if k != "started"}


SimSetup = Callable[[int, Host], tuple[Scenario, Sim]]
"""Builds simulation `index` (its scenario and its `Sim`, wired to the given host)."""


class _SimHost:
    """The engine's side of one simulation: the `Host` its `Sim` calls, with its batching slot."""

    __slots__ = ("_engine", "_slot")

    def __init__(self, engine: Engine, slot: Slot) -> None:
        self._engine = engine
        self._slot = slot

    async def answer(self, sim: Sim, agent: AgentLike, question: Question[Any], k: int) -> Any:
        return await self._engine.answer(sim, agent, question, k, self._slot)

    def record(self, sim: Sim, seq: int, event: Event) -> None:
        self._engine.record_event(sim, seq, event)

    def spawn(self, spec: AgentSpec) -> AgentLike:
        return self._engine.make_agent(spec)

    def advanced(self, step: int) -> None:
        counters = self._engine.counters
        counters.max_step = max(counters.max_step, step)


class Engine(Lifecycle):
    """Runs simulations concurrently and routes every question through the batcher.

    Args:
        backends: ``{"scripted": …}`` answers scripted-policy agents, ``{"model": …}`` (optional)
            answers model-policy agents.
        log: where event and call rows go.
        seed: the run seed (per-request seeds derive from it).
        run_id: written into every row.
        max_attempts: tries per question before the fallback answer.
        sampling: decoding settings for model requests.
        make_agent: builds agents spawned mid-run.
        history: recorded answers to re-use (replay, resume, fork); requests it holds go to the
            ``"replay"`` backend, which must then be in `backends`.
        max_fallback_share: the fallback budget (see `_budget`); None: no budget (tests).
    """

    def __init__(self, *, backends: dict[str, Backend], log: LogSink, seed: int,
                 run_id: str = "", max_attempts: int = 3, sampling: Sampling | None = None,
                 make_agent: Callable[[AgentSpec], AgentLike] | None = None,
                 history: History | None = None,
                 interventions: Iterable[Intervention] = (),
                 max_fallback_share: float | None = None) -> None:
        if SCRIPTED not in backends:
            raise ValueError("the engine needs a 'scripted' backend for scripted policies")
        if history is not None and REPLAY not in backends:
            raise ValueError("an engine with a history needs a 'replay' backend")
        self.backends = backends
        self.log = log
        self.seed = seed
        self.run_id = run_id
        self.max_attempts = max_attempts
        self.sampling = sampling or Sampling()
        self._make_agent = make_agent
        self.history = history
        self._forced = {(i.sim, i.agent, i.step, i.question): i.answer for i in interventions}
        self.batcher = Batcher(backends)
        self.counters = Counters()
        self.budget = None if max_fallback_share is None else FallbackBudget(
            max_fallback_share, errors=self.counters.backend_errors,
            invalid=self.counters.invalid_by_question)
        self._sources: dict[str, str] = {}

    # -- running -------------------------------------------------------------------------------
    async def run(self, count: int, setup: SimSetup, *, concurrency: int | None = None
                  ) -> list[Outcome]:
        """Play `count` simulations, at most `concurrency` alive at once; outcomes in order."""
        self._mark_open()
        self.counters.simulations = count
        outcomes: list[Outcome | None] = [None] * count
        queue = iter(range(count))

        async def play(index: int, group: asyncio.TaskGroup) -> None:
            slot = self.batcher.join()
            sim: Sim | None = None
            try:
                scenario, sim = setup(index, _SimHost(self, slot))
                result = await scenario.run(sim)
                outcomes[index] = self._finish(sim, result)
                self.counters.simulations_done += 1
                if self.budget is not None:
                    self.budget.finish_sim(index)
                start_next(group)
            except SimulationError:
                raise
            except Exception as err:
                where = sim.where() if sim else f"simulation {index} (setup)"
                raise SimulationError(f"{where}: {type(err).__name__}: {err}") from err
            finally:
                self.batcher.leave(slot)

        def start_next(group: asyncio.TaskGroup) -> None:
            index = next(queue, None)
            if index is not None:
                group.create_task(play(index, group), name=f"sim-{index}")

        try:
            with _fewer_collections():
                async with asyncio.TaskGroup() as group:
                    for _ in range(min(concurrency or count, count)):
                        start_next(group)
        except BaseExceptionGroup as group_error:
            raise _first_error(group_error) from None
        finally:
            await self.batcher.drain()
            self._mark_closed()
        return [o for o in outcomes if o is not None]

    def check_budget(self) -> None:
        """Raise `FallbackBudgetExceeded` if the whole run is over its fallback budget."""
        if self.budget is not None:
            self.budget.check()

    def _finish(self, sim: Sim, result: Any) -> Outcome:
        if isinstance(result, Outcome):
            outcome = result
        elif isinstance(result, BaseModel):
            outcome = Outcome(**result.model_dump())
        else:
            outcome = Outcome(**(result or {}))
        sim.emit(outcome)
        return outcome

    def make_agent(self, spec: AgentSpec) -> AgentLike:
        """Build an agent spawned mid-run."""
        if self._make_agent is None:
            raise RuntimeError("this engine was built without `make_agent`; it cannot spawn")
        return self._make_agent(spec)

    # -- events --------------------------------------------------------------------------------
    def record_event(self, sim: Sim, seq: int, event: Event) -> None:
        """Write one event row."""
        self.counters.events += 1
        self.counters.max_step = max(self.counters.max_step, sim.step)
        # Positional, in EventRow's field order: keywords would cost more than the dict they
        # replace on this hot path (tests/test_engine.py checks every column's value).
        self.log.event(EventRow(self.run_id, sim.index, seq, sim.step, sim.phase, event.kind,
                                event.actor, event.target, event.data_json(), now_utc()))

    # -- asking --------------------------------------------------------------------------------
    async def answer(self, sim: Sim, agent: AgentLike, question: Question[Any], k: int,
                     slot: Slot) -> Any:
        """Ask until the answer parses (at most `max_attempts`), else use the fallback."""
        step = sim.step
        if self._forced:
            forced = self._forced.get((sim.index, agent.id, step, question.name),
                                      self._forced.get((None, agent.id, step, question.name)))
            if forced is not None:
                return self._impose(sim, agent, question, step, k, forced)
        is_model = agent.policy == MODEL_POLICY
        messages = agent.messages(question) if is_model else []
        for attempt in range(self.max_attempts):
            key = RequestKey(sim.index, agent.id, step, k, attempt)
            request = Request(key=key, policy=agent.policy, question=question, messages=messages,
                              seed=derive_seed(self.seed, "ask", *_key_parts(key)),
                              sampling=self.sampling)
            recorded = self.history.lookup(key) if self.history is not None else None
            backend_key = self._route(sim, agent, question, key, is_model, recorded)
            self.counters.requests += 1
            self.counters.replayed += recorded is not None
            response, info = await self.batcher.submit(slot, backend_key, request)
            failure = _transport_failure(response, recorded)
            try:
                if failure is not None:
                    raise AnswerError(f"{BACKEND_ERROR}{failure}")
                answer = question.parse(response.text)
            except AnswerError as err:
                if failure is not None:
                    self._count_transport(failure, backend_key, recorded)
                else:
                    self.counters.parse_failures += 1
                    invalid = self.counters.invalid_by_question
                    invalid[question.name] = invalid.get(question.name, 0) + 1
                last = attempt == self.max_attempts - 1
                fallback = question.fallback_answer(
                    derive_rng(self.seed, "fallback", *_key_parts(key))) if last else None
                self._record_call(request, backend_key, response, info, recorded, error=str(err),
                                  answer=fallback, fallback=last)
                if last:
                    self.counters.fallbacks += 1
                    if is_model:
                        self._count_model(sim.index, fallback=True)
                    return fallback
                if is_model and failure is None:  # after a transport failure: the same prompt
                    messages = agent.repair(messages, response.text, str(err))
                continue
            self._record_call(request, backend_key, response, info, recorded, answer=answer)
            self.counters.decisions += 1
            if is_model:
                self._count_model(sim.index, fallback=False)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _count_model(self, sim: int, *, fallback: bool) -> None:
        """Count one model answer; the budget may stop the run here."""
        self.counters.model_answers += 1
        self.counters.model_fallbacks += fallback
        if self.budget is not None:
            self.budget.record(sim, fallback)

    def _count_transport(self, failure: str, backend_key: str, recorded: CallRow | None) -> None:
        """Count a failed backend attempt under its kind and the server it came from."""
        self.counters.transport_failures += 1
        kind = f"{error_kind(failure)} from {self._source(backend_key, recorded)}"
        errors = self.counters.backend_errors
        errors[kind] = errors.get(kind, 0) + 1

    def _source(self, backend_key: str, recorded: CallRow | None) -> str:
        """Where a backend error came from: the server's URL, else the backend's name."""
        if recorded is not None:  # replayed: the live backend of that name, if there is one
            live = self.backends.get(MODEL)
            if live is None or live.name != recorded.backend:
                return f"backend {recorded.backend!r}"
            backend_key = MODEL
        source = self._sources.get(backend_key)
        if source is None:
            backend = self.backends[backend_key]
            url = backend.describe().get("base_url")
            source = self._sources[backend_key] = (str(url) if url
                                                   else f"backend {backend.name!r}")
        return source

    def _impose(self, sim: Sim, agent: AgentLike, question: Question[Any], step: int, k: int,
                value: Any) -> Any:
        """Answer with a configured intervention, logged as a call of policy 'intervention'."""
        try:
            answer = question.from_json(value)
        except AnswerError as err:
            raise SimulationError(f"{sim.where()}: the intervention for agent {agent.id!r}, "
                                  f"question {question.name!r} is not a valid answer: {err}"
                                  ) from None
        key = RequestKey(sim.index, agent.id, step, k)
        request = Request(key=key, policy="intervention", question=question, messages=[],
                          seed=0, sampling=self.sampling)
        response = Response(text=question.encode(answer))
        self._record_call(request, SCRIPTED, response, BatchInfo(-1, 0, 0.0), None,
                          answer=answer, backend="intervention")
        self.counters.decisions += 1
        return answer

    def _route(self, sim: Sim, agent: AgentLike, question: Question[Any], key: RequestKey,
               is_model: bool, recorded: CallRow | None) -> str:
        """Which backend answers: the record when it holds the request, else the live one."""
        if recorded is not None:
            return REPLAY
        if self.history is not None and self.history.strict:
            raise ReplayDivergence(f"replay diverged: {describe_key(key, question.name)} was "
                                   "never asked in the recorded run")
        if is_model and MODEL not in self.backends:
            raise SimulationError(f"{sim.where()}: agent {agent.id!r} has the model policy but "
                                  "the run has no model backend")
        return MODEL if is_model else SCRIPTED

    def _record_call(self, request: Request, backend_key: str, response: Response,
                     info: BatchInfo, recorded: CallRow | None, *, answer: Any,
                     error: str | None = None, fallback: bool = False,
                     backend: str | None = None) -> None:
        key = request.key
        # A replayed call is logged as it was first made: same policy, same backend.
        policy = recorded.policy if recorded is not None else request.policy
        if backend is None:
            backend = (recorded.backend if recorded is not None
                       else self.backends[backend_key].name)
        answer_json = (None if error is not None and not fallback
                       else json.dumps(request.question.to_json(answer), ensure_ascii=False))
        messages = json.dumps(request.messages, ensure_ascii=False) if request.messages else None
        logprobs = (json.dumps(response.option_logprobs)
                    if response.option_logprobs is not None else None)
        # Positional, in CallRow's field order (see `record_event`), one line per group.
        self.log.call(CallRow(
            self.run_id, key.sim, key.agent, key.step, key.k, key.attempt,  # identity
            request.question.name, policy, backend, request.seed,  # what was asked, of whom
            request.prompt_hash(), messages,  # what the model was shown
            response.text, answer_json, error, fallback, logprobs,  # what came back
            response.tokens_in, response.tokens_out, response.cached_tokens,  # tokens
            info.latency_s, info.batch_id, info.size, now_utc()))  # timing


@contextlib.contextmanager
def _fewer_collections(young: int = 100_000) -> Iterator[None]:
    """Run the cyclic garbage collector less often while simulations run.

    Hundreds of live simulations hold many long-lived objects; the default threshold (700
    allocations) makes the collector rescan them constantly. Measured on 1,000 scripted Werewolf
    games: 13 % more decisions/s with 32 games alive, 28 % with 256. Restored afterwards.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(young, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _transport_failure(response: Response, recorded: CallRow | None) -> str | None:
    """The backend's error for this attempt (a replayed attempt: the recorded one), or None."""
    if recorded is not None:
        error = recorded.error
        return error.removeprefix(BACKEND_ERROR) if error and error.startswith(
            BACKEND_ERROR) else None
    return response.error


def _key_parts(key: RequestKey) -> tuple[int | str, ...]:
    return (key.sim, key.agent, key.step, key.k, key.attempt)


def _first_error(group: BaseExceptionGroup) -> BaseException:
    """The first leaf exception of a (possibly nested) exception group."""
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first
