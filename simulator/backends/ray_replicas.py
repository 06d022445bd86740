"""Inference replicas as Ray actors, shared by every simulation on the cluster.

Configure with ``backend=ray_replicas`` and the backend each replica runs under
``backend.replica`` (any registered backend: ``vllm`` on GPUs, ``scripted`` in tests)::

    backend:
      name: ray_replicas
      replicas: 2                # actors, one per GPU for vllm (num_gpus defaults to 1 there)
      replica: {name: vllm, model: /models/smol}
      affinity: game             # route a game's requests to one replica (or: agent)

Replicas are named actors (``societas-replica-<digest>-<i>`` in namespace ``societas``), so every
run and every sweep task with the same replica config shares the same replicas. Requests are
routed by prefix affinity with load balancing (`simulator.backends._routing`). A replica that
dies is restarted by Ray (``max_restarts``, set explicitly: Ray's default is 0) while its
requests are retried on the other replicas (``max_task_retries=0``: the client re-routes, so
nothing waits for the restart and nothing is lost). Answers do not depend on the replica: each
request carries its own sampling seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from societas.simulator._backend_fields import ENDPOINT, NESTED
from societas.simulator._config import BackendConfig, validate_model
from societas.simulator._errors import ConfigError
from societas.simulator._requests import Request, Response
from societas.simulator.backends._base import Backend
from societas.simulator.backends._replica import BackendFactory, ReplicaServer
from societas.simulator.backends._routing import Affinity, affinity_key, choose, home
from societas.simulator.backends._usage import count_answers

NAMESPACE = "societas"
ROUTE_LOG_KEYS = 100_000
"""`routes()` records the first this many routing keys (games or agents), to bound memory."""
_GPU_BACKENDS = frozenset({"vllm"})


class ReplicaOptions(BaseModel):
    """The ``backend`` keys of ``ray_replicas`` (beyond name and sampling defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    replicas: int = Field(default=2, ge=1, description="replica actors")
    replica: dict[str, Any] = Field(default_factory=lambda: {"name": "scripted"},
                                    description="the backend config each replica runs",
                                    json_schema_extra=NESTED)
    address: str | None = Field(default=None, json_schema_extra=ENDPOINT,
                                description="Ray address; null: the current Ray or local")
    num_gpus: float | None = Field(default=None, ge=0,
                                   description="per replica; null: 1 for vllm, else 0")
    num_cpus: float = Field(default=1.0, ge=0, description="per replica")
    affinity: Affinity = "game"
    spill_after: int = Field(default=64, ge=0,
                             description="requests the home replica may be behind "
                             "the least loaded one before requests spill over")
    max_restarts: int = Field(default=3, ge=-1,
                              description="Ray restarts of a dead replica (-1: always)")
    retry_timeout_s: float = Field(default=600.0, gt=0,
                                   description="give up when no replica answers "
                                   "for this long")
    start_timeout_s: float = Field(default=1800.0, gt=0,
                                   description="wait this long for every replica "
                                   "to be placed and to load its backend")
    detached: bool = Field(default=False,
                           description="keep replicas alive after their creator exits")

    @property
    def gpus(self) -> float:
        """GPUs reserved per replica."""
        if self.num_gpus is not None:
            return self.num_gpus
        return 1.0 if self.replica.get("name") in _GPU_BACKENDS else 0.0

    def actor_names(self) -> list[str]:
        """The replicas' Ray actor names: the same config always names the same actors."""
        identity = json.dumps([self.replica, self.gpus, self.num_cpus], sort_keys=True,
                              default=str)
        digest = hashlib.blake2b(identity.encode(), digest_size=5).hexdigest()
        return [f"societas-replica-{digest}-{i}" for i in range(self.replicas)]


def options_from(config: BackendConfig | dict[str, Any]) -> tuple[ReplicaOptions, int]:
    """Validated replica options and the client's max batch, from a ``backend`` config."""
    raw = config.model_dump() if isinstance(config, BackendConfig) else dict(config)
    max_batch = int(raw.get("max_batch", BackendConfig().max_batch))
    extra = {k: v for k, v in raw.items() if k not in BackendConfig.model_fields}
    options: ReplicaOptions = validate_model(ReplicaOptions, extra, "backend")
    replica = validate_model(BackendConfig, options.replica, "backend.replica")
    from societas.simulator._registry import backend_names

    if replica.name == "ray_replicas":
        raise ConfigError("backend.replica.name", "a replica cannot itself be ray_replicas; "
                          "name the backend each replica runs, e.g. vllm")
    if replica.name not in backend_names():
        raise ConfigError("backend.replica.name", f"unknown backend {replica.name!r}; "
                          f"registered: {', '.join(backend_names())}")
    return options, min(max_batch, replica.max_batch)


class _Down(Exception):
    """A replica did not answer (died, restarting); its requests go elsewhere."""


class RayReplicaBackend(Backend):
    """Client of the shared replicas: routes each batch's requests, retries on replica death.

    Args:
        options: replica count, placement, routing and fault-tolerance settings.
        max_batch: the largest batch the engine sends (the replica backend's limit).
        factory: builds replica `i`'s backend instead of ``options.replica`` (for backends
            that are not registered; must be picklable by Ray).
        salt: routing salt of this client (default: random, so runs sharing the replicas
            spread their games over them).
    """

    name = "ray_replicas"

    def __init__(self, options: ReplicaOptions, *, max_batch: int = 4096,
                 factory: BackendFactory | None = None, salt: str | None = None) -> None:
        self.options = options
        self.max_batch = max_batch
        self.salt = salt or uuid.uuid4().hex[:12]
        self._factory = factory
        self._handles: list[Any] = []
        self._load = [0] * options.replicas
        self._queued = [0] * options.replicas
        self._down_until = [0.0] * options.replicas
        self._served = [0] * options.replicas
        self._routes: dict[str, Counter[int]] = {}
        self._counts = Counter({"requests": 0, "tokens_in": 0, "tokens_out": 0,
                                "cached_tokens": 0, "spilled": 0, "retried": 0})
        self._replica_describe: dict[str, Any] = {}

    async def open(self) -> None:
        """Connect to Ray and to the replicas (starting them when they do not exist yet)."""
        await super().open()
        self._handles = await asyncio.to_thread(start_replicas, self.options, self._factory)
        try:  # every replica placed and its backend loaded, or a clear error now
            described = await asyncio.wait_for(
                asyncio.gather(*(handle.describe.remote() for handle in self._handles)),
                timeout=self.options.start_timeout_s)
        except TimeoutError:
            raise RuntimeError(
                f"the {self.options.replicas} ray_replicas replicas were not all ready after "
                f"{self.options.start_timeout_s:.0f} s; check `ray status` for pending actors "
                "and the replicas' logs, or raise backend.start_timeout_s") from None
        self._replica_describe = described[0]

    async def close(self) -> None:
        """Drop the handles; the replicas live on for other clients (see `hold_replicas`)."""
        self._handles = []
        await super().close()

    def session(self) -> Backend:
        """A per-run view with its own routing salt and counts (used by sweep tasks)."""
        return _Session(self)

    async def generate(self, requests: list[Request]) -> list[Response]:
        """Answer `requests`, routed by affinity; requests of a dead replica are re-routed."""
        return await self.dispatch(requests, self.salt)

    async def dispatch(self, requests: list[Request], salt: str) -> list[Response]:
        """Route `requests` under routing `salt` and gather their responses in order."""
        self._require_open()
        answers: list[Response | None] = [None] * len(requests)
        pending = list(range(len(requests)))
        deadline = time.monotonic() + self.options.retry_timeout_s
        wire = [_wire(request) for request in requests]
        while pending:
            plan = self._assign(pending, requests, salt)
            if not plan:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no ray_replicas replica answered for "
                                       f"{self.options.retry_timeout_s:.0f} s; check the Ray "
                                       "cluster (ray status) and the replicas' logs")
                await asyncio.sleep(0.2)
                continue
            results = await asyncio.gather(
                *(self._call(replica, [wire[i] for i in chosen])
                  for replica, chosen in plan.items()), return_exceptions=True)
            pending = []
            for (_, chosen), result in zip(plan.items(), results, strict=True):
                if isinstance(result, _Down):
                    pending += chosen
                    self._counts["retried"] += len(chosen)
                elif isinstance(result, BaseException):
                    raise result
                else:
                    for i, response in zip(chosen, result, strict=True):
                        answers[i] = response
        self._account(answers)
        return [a for a in answers if a is not None]

    def _assign(self, pending: list[int], requests: list[Request],
                salt: str) -> dict[int, list[int]]:
        now = time.monotonic()
        live = [i for i in range(self.options.replicas) if self._down_until[i] <= now]
        if not live:
            return {}
        by_key: dict[str, list[int]] = {}
        for i in pending:
            key = affinity_key(salt, requests[i].key, self.options.affinity)
            by_key.setdefault(key, []).append(i)
        load = [self._load[r] + self._queued[r] for r in range(self.options.replicas)]
        plan: dict[int, list[int]] = {}
        for key, chosen in by_key.items():
            replica = choose(key, live, load, self.options.spill_after)
            if replica != home(key, live):
                self._counts["spilled"] += len(chosen)
            load[replica] += len(chosen)
            self._load[replica] += len(chosen)  # reserved now; released when the call returns
            plan.setdefault(replica, []).extend(chosen)
            if key in self._routes or len(self._routes) < ROUTE_LOG_KEYS:
                self._routes.setdefault(key, Counter())[replica] += len(chosen)
        return plan

    async def _call(self, replica: int, requests: list[Request]) -> list[Response]:
        import ray.exceptions

        try:
            responses, queued = await self._handles[replica].generate.remote(requests)
        except ray.exceptions.RayActorError as err:
            self._down_until[replica] = time.monotonic() + 1.0
            raise _Down(str(err)) from err
        finally:
            self._load[replica] -= len(requests)
        self._queued[replica] = queued
        self._served[replica] += len(requests)
        return list(responses)

    def _account(self, responses: list[Response | None]) -> None:
        count_answers(self._counts, responses)

    def routes(self) -> dict[str, dict[int, int]]:
        """Requests sent per routing key (a game or an agent) and replica (first keys only)."""
        return {key: dict(counter) for key, counter in self._routes.items()}

    def describe(self) -> dict[str, Any]:
        """Replica count, routing and the replicas' own backend identity."""
        return {"name": self.name, "max_batch": self.max_batch,
                "replicas": self.options.replicas, "affinity": self.options.affinity,
                "replica": self._replica_describe}

    def stats(self) -> dict[str, Any]:
        """Requests, tokens, spilled and retried requests; requests served per replica."""
        return {**self._counts, "per_replica": list(self._served)}


class _Session(Backend):
    """One run's view of a shared `RayReplicaBackend`: its own salt and counts."""

    def __init__(self, shared: RayReplicaBackend) -> None:
        self._shared = shared
        self.name = shared.name
        self.max_batch = shared.max_batch
        self._salt = uuid.uuid4().hex[:12]
        self._counts: Counter[str] = Counter()

    async def generate(self, requests: list[Request]) -> list[Response]:
        """Route through the shared client under this run's salt."""
        self._require_open()
        responses = await self._shared.dispatch(requests, self._salt)
        count_answers(self._counts, responses)
        return responses

    def describe(self) -> dict[str, Any]:
        """The shared client's identity."""
        return self._shared.describe()

    def stats(self) -> dict[str, Any]:
        """This run's requests and tokens."""
        return dict(self._counts)


def _wire(request: Request) -> Request:
    """The request as shipped to a replica: a lazily rendered prompt is rendered now."""
    question = request.question
    if callable(question.prompt):
        question = dataclasses.replace(question, prompt=question.prompt_text())
        return dataclasses.replace(request, question=question)
    return request


def start_replicas(options: ReplicaOptions, factory: BackendFactory | None = None) -> list[Any]:
    """Handles of the replicas `options` names, creating those that do not exist (blocking)."""
    import ray

    from societas.simulator._ray_connect import connect

    connect(options.address)
    _check_resources(options, ray.cluster_resources())
    actor = ray.remote(ReplicaServer)
    handles = []
    for index, name in enumerate(options.actor_names()):
        handles.append(actor.options(
            name=name, namespace=NAMESPACE, get_if_exists=True,
            lifetime="detached" if options.detached else None,
            max_restarts=options.max_restarts, max_task_retries=0, max_concurrency=1000,
            num_cpus=options.num_cpus, num_gpus=options.gpus,
        ).remote(index, options.replica, factory))
    return handles


def _check_resources(options: ReplicaOptions, cluster: Mapping[str, float]) -> None:
    """Refuse replicas the cluster cannot place (they would wait forever for resources)."""
    for resource, each in (("GPU", options.gpus), ("CPU", options.num_cpus)):
        needed, have = each * options.replicas, cluster.get(resource, 0.0)
        if needed > have:
            key = "num_gpus" if resource == "GPU" else "num_cpus"
            raise ConfigError("backend.replicas", f"{options.replicas} replicas × "
                              f"{key}={each:g} need {needed:g} {resource}s but the Ray cluster "
                              f"has {have:g}; lower backend.replicas or backend.{key}, or add "
                              "nodes")


@contextlib.contextmanager
def hold_replicas(configs: list[dict[str, Any]]) -> Iterator[list[Any]]:
    """Start the replicas of each ``ray_replicas`` backend config for the duration of a sweep.

    Created here, the replicas belong to the sweep driver and outlive every task; on exit
    they are stopped unless ``detached``.
    """
    import ray

    held: list[tuple[ReplicaOptions, list[Any]]] = []
    try:
        for config in configs:
            options, _ = options_from(config)
            held.append((options, start_replicas(options)))
        yield [handle for _, handles in held for handle in handles]
    finally:
        for options, handles in held:
            if not options.detached:
                for handle in handles:
                    ray.kill(handle, no_restart=True)


def build(config: BackendConfig) -> RayReplicaBackend:
    """Registry builder for ``backend.name: ray_replicas``."""
    options, max_batch = options_from(config)
    return RayReplicaBackend(options, max_batch=max_batch)
