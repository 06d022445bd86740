"""Inference replicas as Ray actors: prefix-affinity routing, spill-over, replica death."""

from __future__ import annotations

import asyncio
import sys

import pytest
from ray import cloudpickle

from societas import simulator
from societas.simulator import BackendConfig, ConfigError
from societas.simulator._registry import build_backend
from societas.simulator._seeding import derive_seed
from societas.simulator._strategies import StrategyHandler
from societas.simulator.backends import Request, RequestKey, ScriptedBackend
from societas.simulator.backends._routing import affinity_key, choose, home
from societas.simulator.backends.ray_replicas import RayReplicaBackend, ReplicaOptions, options_from
from societas.simulator.scenario import Choice, RandomStrategy

# The replica factories below run inside Ray actors: ship this module's code by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class DelayedBackend(ScriptedBackend):
    """The registered scripted stand-in model, taking `delay_s` per batch."""

    def __init__(self, delay_s: float) -> None:
        super().__init__(StrategyHandler({"model": RandomStrategy()}))
        self.delay_s = delay_s

    async def generate(self, requests):
        await asyncio.sleep(self.delay_s)
        return await super().generate(requests)


def slow_first_replica(index: int) -> DelayedBackend:
    return DelayedBackend(0.4 if index == 0 else 0.0)


def steady_replica(index: int) -> DelayedBackend:
    return DelayedBackend(0.02)


def options(**overrides) -> ReplicaOptions:
    return ReplicaOptions(**{"replicas": 2, "num_cpus": 0, **overrides})


def requests_for(sim: int, count: int, step: int = 0) -> list[Request]:
    question = Choice(name="vote", prompt="Pick one.", options=["x", "y", "z"])
    return [Request(key=RequestKey(sim, f"a{i}", step, 0), policy="model", question=question,
                    messages=[{"role": "user", "content": "Pick one."}],
                    seed=derive_seed(9, "ask", sim, i, step)) for i in range(count)]


def local_answers(requests: list[Request]) -> list[str]:
    handler = StrategyHandler({"model": RandomStrategy()})
    return [handler(r) for r in requests]


def sim_with_home(salt: str, replica: int) -> int:
    return next(s for s in range(100) if home(affinity_key(salt, requests_for(s, 1)[0].key,
                                                          "game"), [0, 1]) == replica)


# -- routing, pure ---------------------------------------------------------------------------
def test_rendezvous_home_is_stable_balanced_and_moves_only_a_lost_replicas_keys():
    keys = [f"run/{sim}" for sim in range(400)]
    homes = {k: home(k, [0, 1, 2]) for k in keys}
    assert homes == {k: home(k, [0, 1, 2]) for k in keys}
    shares = [sum(h == r for h in homes.values()) for r in range(3)]
    assert min(shares) > 100  # about a third each
    without_2 = {k: home(k, [0, 1]) for k in keys}
    assert all(without_2[k] == homes[k] for k in keys if homes[k] != 2)


@pytest.mark.parametrize(("loads", "spill_after", "expected"), [
    ([0, 0], 4, "home"),
    ([4, 0], 4, "home"),       # exactly at the threshold: stay
    ([5, 0], 4, "other"),      # more than spill_after behind: spill
    ([50, 48], 4, "home"),     # both busy, close: stay
    ([5, 0], 0, "other"),
])
def test_choose_spills_only_when_the_home_replica_falls_behind(loads, spill_after, expected):
    key = next(f"k{i}" for i in range(100) if home(f"k{i}", [0, 1]) == 0)
    chosen = choose(key, [0, 1], loads, spill_after)
    assert chosen == (0 if expected == "home" else 1)


def test_affinity_keys_separate_runs_games_and_agents():
    key = RequestKey(sim=3, agent="a07", step=2, k=0)
    assert affinity_key("run1", key, "game") == "run1/3"
    assert affinity_key("run1", key, "agent") == "run1/3/a07"
    assert affinity_key("run2", key, "game") != affinity_key("run1", key, "game")


def test_replica_options_are_validated_with_their_key_path():
    opts, max_batch = options_from(BackendConfig(name="ray_replicas", replicas=3, max_batch=64))
    assert opts.replicas == 3 and max_batch == 64 and opts.gpus == 0
    assert ReplicaOptions(replica={"name": "vllm"}).gpus == 1  # one GPU per vLLM engine
    assert ReplicaOptions(replica={"name": "vllm"}, num_gpus=0.5).gpus == 0.5
    with pytest.raises(ConfigError, match="backend.replicas"):
        options_from({"name": "ray_replicas", "replicas": 0})
    with pytest.raises(ConfigError, match="backend.replica.name: unknown backend 'nope'"):
        options_from({"name": "ray_replicas", "replica": {"name": "nope"}})
    with pytest.raises(ConfigError, match="backend.replicas_count: unknown key"):
        options_from({"name": "ray_replicas", "replicas_count": 2})
    assert options(replicas=2).actor_names() == options(replicas=2).actor_names()
    assert options().actor_names() != options(replica={"name": "scripted", "top_p": 0.5}) \
        .actor_names()


# -- real actors -----------------------------------------------------------------------------
def test_each_game_stays_on_one_replica_and_the_log_matches_a_local_backend(ray_cluster,
                                                                             tmp_path):
    config = {"scenario": {"name": "donor_game", "generations": 2, "rounds": 4},
              "backend": {"name": "ray_replicas", "replicas": 2, "num_cpus": 0},
              "simulations": 6, "seed": 5, "out_dir": str(tmp_path), "progress": False}
    backend = RayReplicaBackend(options(), salt="fixed-salt")
    routed = simulator.run({**config, "run_id": "replicas"}, model_backend=backend)
    routes = backend.routes()
    assert len(routes) == 6  # one routing key per game
    assert all(len(replicas) == 1 for replicas in routes.values())  # each game on one replica
    used = {replica for replicas in routes.values() for replica in replicas}
    assert used == {0, 1}  # the games spread over both replicas
    stats = simulator.read_manifest(routed.run_dir)["backend_stats"]["model"]
    assert stats["spilled"] == 0 and stats["retried"] == 0
    assert sum(stats["per_replica"]) == stats["requests"] == routed.counters.requests

    local = simulator.run({**config, "run_id": "local"},
                          model_backend=build_backend(BackendConfig(name="scripted")))
    assert simulator.content_hash(routed.run_dir) == simulator.content_hash(local.run_dir)
    via_registry = simulator.run({**config, "run_id": "registry"})  # backend=ray_replicas
    assert simulator.content_hash(via_registry.run_dir) == simulator.content_hash(local.run_dir)


def test_requests_spill_to_the_other_replica_only_when_their_home_falls_behind(ray_cluster):
    asyncio.run(spill_over())


async def spill_over() -> None:
    # Own replica config (top_p) so that these replicas are not the other tests' replicas.
    backend = RayReplicaBackend(
        options(spill_after=4, replica={"name": "scripted", "top_p": 0.91}),
        factory=slow_first_replica, salt="spill")
    sim = sim_with_home("spill", 0)
    key = affinity_key("spill", requests_for(sim, 1)[0].key, "game")
    async with backend:
        for step in range(3):  # one call at a time: never behind, always home
            batch = requests_for(sim, 3, step)
            assert [r.text for r in await backend.generate(batch)] == local_answers(batch)
        assert backend.routes()[key] == {0: 9}

        batches = [requests_for(sim, 3, step) for step in range(3, 9)]
        answers = await asyncio.gather(*(backend.generate(b) for b in batches))
        for batch, answer in zip(batches, answers, strict=True):
            assert [r.text for r in answer] == local_answers(batch)
        routes = backend.routes()[key]
        assert routes[0] >= 9 + 6 and routes[1] > 0  # home first, the surplus on replica 1
        assert backend.stats()["spilled"] == routes[1]


def test_a_replica_killed_mid_run_loses_nothing(ray_cluster, tmp_path):
    asyncio.run(kill_a_replica_mid_run(ray_cluster, tmp_path))


async def kill_a_replica_mid_run(ray_cluster, tmp_path) -> None:
    config = {"scenario": {"name": "donor_game", "generations": 3, "rounds": 6},
              "backend": {"name": "ray_replicas"}, "simulations": 4, "seed": 8,
              "out_dir": str(tmp_path), "progress": False}
    backend = RayReplicaBackend(
        options(max_restarts=1, replica={"name": "scripted", "top_p": 0.92}),
        factory=steady_replica, salt="kill")

    async def kill_replica_0_soon() -> None:
        while backend.stats()["requests"] < 200:
            await asyncio.sleep(0.01)
        ray_cluster.kill(backend._handles[0], no_restart=False)

    killer = asyncio.get_running_loop().create_task(kill_replica_0_soon())
    routed = await simulator.arun({**config, "run_id": "killed"}, model_backend=backend)
    await killer
    stats = simulator.read_manifest(routed.run_dir)["backend_stats"]["model"]
    assert stats["retried"] > 0  # requests of the dead replica went to the other one
    assert stats["requests"] == routed.counters.requests

    local = await simulator.arun({**config, "run_id": "local"},
                                 model_backend=build_backend(BackendConfig(name="scripted")))
    assert simulator.content_hash(routed.run_dir) == simulator.content_hash(local.run_dir)


def test_replicas_the_cluster_cannot_place_are_refused_with_the_fix(ray_cluster):
    backend = RayReplicaBackend(options(replica={"name": "vllm"}))  # 2 × 1 GPU, none here

    async def open_it() -> None:
        async with backend:
            pass

    with pytest.raises(ConfigError, match=r"need 2 GPUs but the Ray cluster has 0; lower "
                                          r"backend.replicas"):
        asyncio.run(open_it())
    with pytest.raises(ConfigError, match="need 6 CPUs"):
        asyncio.run(RayReplicaBackend(options(replicas=3, num_cpus=2)).open())
