"""The CLI error corpus: every bad input a user can give ends as one line naming what was wrong.

Each case runs the real ``societas`` command line (in process through `cli.main`, a few through
the console script) on a real config tree, real run directories and a real closed port, and
asserts: a nonzero exit, exactly one line on stderr starting ``societas: ``, the key path, file
or server named in it, and no traceback. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from societas.simulator.cli import main

#: A finished scripted run every run-directory case starts from (a copy of it).
FINISHED = ["run", "scenario=donor_game", "backend=scripted", "scenario.generations=2",
            "population.size=4", "progress=false"]

#: User config files, found through ``hydra.searchpath=[file://CONF]``.
USER_YAML = {
    "scenario/pytag.yaml": "name: donor_game\nendowment: !!python/object/apply:os.system [id]\n",
    "scenario/pyname.yaml": "name: !!python/name:os.system\n",
    "scenario/syntax.yaml": "name: donor_game\ngenerations: [2, 3\n",
    "scenario/indent.yaml": "name: donor_game\n  generations: 2\n",
    "scenario/dupkey.yaml": "name: donor_game\ngenerations: 2\ngenerations: 3\n",
    "scenario/mine.yaml": "# @package _global_\nscenario:\n  name: donor_game\nseed: 5\n",
    "scenario/many.yaml": "# @package _global_\nscenario:\n  name: donor_game\nsimulations: 3\n",
    "scenario/tabbed.yaml": "name: donor_game\n\tgenerations: 2\n",
    "backend/evil.yaml": "name: scripted\n_target_: os.system\n",
    "backend/typo.yaml": "name: scripted\ntemprature: 0.5\n",
    "backend/dupkey.yaml": "name: scripted\nmax_batch: 3\nmax_batch: 4\n",
}


@dataclass(frozen=True)
class Case:
    """One bad command line: its arguments and the text the error line must contain.

    ``{out}`` (a fresh folder), ``{file}`` (a plain file), ``{conf}`` (the user config folder),
    ``{run}`` (a copy of a finished run, changed by `damage`), ``{empty}`` (an empty folder),
    ``{port}`` (a closed local port) are filled in; ``run`` cases get ``out_dir={out}`` and
    ``progress=false`` unless they set ``out_dir`` themselves.
    """

    id: str
    argv: tuple[str, ...]
    names: tuple[str, ...]
    damage: Callable[[Path], None] | None = None
    code: int = 2
    extra: dict[str, str] = field(default_factory=dict)


def _manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


def _write_manifest(run: Path, manifest: dict) -> None:
    (run / "manifest.json").write_text(json.dumps(manifest))


def not_json(run: Path) -> None:
    (run / "manifest.json").write_text('{"status": "completed", ')


def json_list(run: Path) -> None:
    (run / "manifest.json").write_text("[1, 2]")


def newer_format(run: Path) -> None:
    _write_manifest(run, {**_manifest(run), "log_format": 99})


def odd_format(run: Path) -> None:
    _write_manifest(run, {**_manifest(run), "log_format": "one"})


def interrupted(run: Path) -> None:
    _write_manifest(run, {**_manifest(run), "status": "interrupted"})


def junk_chunk(run: Path) -> None:
    (run / "events" / "part-00000.parquet").write_bytes(b"PAR1 not really parquet" * 40)


def corrupt_chunk(run: Path) -> None:
    """A finished run marked interrupted whose first event chunk is junk bytes."""
    interrupted(run)
    junk_chunk(run)


def corrupt_calls_chunk(run: Path) -> None:
    interrupted(run)
    (run / "calls" / "part-00000.parquet").write_bytes(b"\x00junk" * 100)


def scrambled_chunk(run: Path) -> None:
    """The first event chunk with its data pages overwritten, magic bytes and footer kept."""
    interrupted(run)
    chunk = run / "events" / "part-00000.parquet"
    data = bytearray(chunk.read_bytes())
    data[4 : len(data) // 2] = b"\xff" * (len(data) // 2 - 4)
    chunk.write_bytes(bytes(data))


def truncated_chunk(run: Path) -> None:
    """The first event chunk cut to half its bytes (a copy that stopped early)."""
    interrupted(run)
    chunk = run / "events" / "part-00000.parquet"
    chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])


def missing_chunk(run: Path) -> None:
    interrupted(run)
    (run / "events" / "part-00000.parquet").unlink()


def no_config(run: Path) -> None:
    manifest = _manifest(run)
    del manifest["config"]
    _write_manifest(run, {**manifest, "status": "interrupted"})


def bad_config(run: Path) -> None:
    manifest = _manifest(run)
    _write_manifest(run, {**manifest, "status": "interrupted",
                          "config": {**manifest["config"], "seed": "abc"}})


def infinite_endowment(run: Path) -> None:
    manifest = _manifest(run)
    config = manifest["config"]
    _write_manifest(run, {**manifest, "status": "interrupted", "config": {
        **config, "scenario": {**config["scenario"], "endowment": float("inf")}}})


def no_manifest(run: Path) -> None:
    (run / "manifest.json").unlink()


LONG_MESSAGE = "x" * 20_000
SCRIPTED_DEBATE = ("scenario=debate", "backend=scripted", "population.strategy=fixed")
TO_DONATE = "{step: 1, agent: a0, question: donate, answer: 0.5}"

CASES = [
    # -- the failures issue 11 lists ------------------------------------------------------------
    Case("huge-simulations", ("run", "simulations=1000000000000"), ("simulations",)),
    Case("out_dir-is-a-file", ("run", "out_dir={file}"), ("out_dir", "{file}")),
    Case("out_dir-below-a-file", ("run", "out_dir={file}/runs"), ("out_dir", "{file}")),
    Case("unreachable-base_url", ("run", "backend=openai", "backend.base_url=http://127.0.0.1:"
                                  "{port}/v1", "backend.model=m"),
         ("backend.base_url", "127.0.0.1:{port}")),
    Case("yaml-python-object-tag", ("run", "hydra.searchpath=[file://{conf}]", "scenario=pytag"),
         ("pytag.yaml", "line 2")),
    Case("yaml-python-name-tag", ("run", "hydra.searchpath=[file://{conf}]", "scenario=pyname"),
         ("pyname.yaml",)),
    Case("yaml-syntax-error", ("run", "hydra.searchpath=[file://{conf}]", "scenario=syntax"),
         ("syntax.yaml",)),
    Case("yaml-bad-indent", ("run", "hydra.searchpath=[file://{conf}]", "scenario=indent"),
         ("indent.yaml", "line 2")),
    Case("yaml-tab", ("run", "hydra.searchpath=[file://{conf}]", "scenario=tabbed"),
         ("tabbed.yaml",)),
    Case("yaml-duplicate-key", ("run", "hydra.searchpath=[file://{conf}]", "scenario=dupkey"),
         ("dupkey.yaml", "generations")),
    Case("backend-yaml-duplicate-key", ("run", "hydra.searchpath=[file://{conf}]",
                                        "backend=dupkey"), ("dupkey.yaml", "max_batch")),
    Case("sweep-empty-range", ("sweep", "seed=range(-3)", "out_dir={out}", "--workers", "0",
                               "--no-progress"), ("seed",)),
    Case("resume-corrupt-chunk", ("resume", "{run}"), ("part-00000.parquet",),
         damage=corrupt_chunk),
    Case("unknown-backend-key", ("run", "backend=scripted", "+backend.temprature=0.5"),
         ("backend.temprature",)),
    Case("unknown-openai-backend-key", ("run", "backend=openai", "backend.base_url=http://"
                                        "127.0.0.1:{port}/v1", "backend.model=m",
                                        "+backend.temprature=0.5"), ("backend.temprature",)),
    Case("resume-corrupt-calls-chunk", ("resume", "{run}"), ("calls/part-00000.parquet",),
         damage=corrupt_calls_chunk),
    Case("resume-scrambled-chunk", ("resume", "{run}"), ("events/part-00000.parquet",),
         damage=scrambled_chunk),
    Case("resume-truncated-chunk", ("resume", "{run}"), ("events/part-00000.parquet",),
         damage=truncated_chunk),
    Case("unknown-key-in-backend-yaml", ("run", "hydra.searchpath=[file://{conf}]",
                                         "backend=typo"), ("backend.temprature",)),
    Case("target-in-backend-yaml", ("run", "hydra.searchpath=[file://{conf}]", "backend=evil"),
         ("backend._target_",)),
    Case("target-on-command-line", ("run", "+backend._target_=os.system"), ("backend._target_",)),
    Case("intervention-unknown-agent", ("run", "scenario=donor_game", "+interventions=[{step: 1,"
                                        " agent: zz9, question: donate, answer: 0.5}]"),
         ("interventions.0.agent", "zz9")),
    Case("intervention-unknown-question", ("run", "scenario=donor_game", "+interventions=[{step:"
                                           " 1, agent: a0, question: vote, answer: 1}]"),
         ("interventions.0.question", "vote")),
    Case("intervention-step-beyond-the-run", ("run", "scenario=donor_game",
                                              "scenario.generations=2", "+interventions=[{step: "
                                              "9999, agent: a00, question: donate, answer: 0}]"),
         ("interventions.0.step",)),
    Case("intervention-sim-beyond-the-run", ("run", "scenario=donor_game", "+interventions=[{"
                                             "step: 1, agent: a00, question: donate, answer: 0, "
                                             "sim: 3}]"), ("interventions.0.sim",)),
    Case("intervention-missing-answer", ("run", "scenario=donor_game", "+interventions=[{step: "
                                         "1, agent: a0, question: donate}]"),
         ("interventions.0.answer",)),
    Case("intervention-second-bad", ("run", "scenario=donor_game", f"+interventions=[{TO_DONATE},"
                                     "{step: -1, agent: a0, question: donate, answer: 0}]"),
         ("interventions.1.step",)),
    Case("run-level-key-in-scenario-yaml", ("run", "hydra.searchpath=[file://{conf}]",
                                            "scenario=mine"), ("seed",)),
    Case("simulations-in-scenario-yaml", ("run", "hydra.searchpath=[file://{conf}]",
                                          "scenario=many"), ("simulations",)),
    Case("endowment-inf", ("run", "scenario=donor_game", "scenario.endowment=inf"),
         ("scenario.endowment",)),
    Case("endowment-nan", ("run", "scenario=donor_game", "scenario.endowment=nan"),
         ("scenario.endowment",)),
    Case("endowment-minus-inf", ("run", "scenario=donor_game", "scenario.endowment=-inf"),
         ("scenario.endowment",)),
    Case("fixed-text-over-the-limit", ("run", *SCRIPTED_DEBATE, "+population.params={answers: "
                                       "{message: " + LONG_MESSAGE + "}}"),
         ("population.params.answers.message", "characters")),
    Case("fixed-choice-not-an-option", ("run", *SCRIPTED_DEBATE, "+population.params={answers: "
                                        "{rate: 9}}"), ("population.params.answers.rate",)),
    Case("fixed-form-missing-field", ("run", *SCRIPTED_DEBATE, "+population.params={answers: "
                                      "{tweet: {message: hi}}}"),
         ("population.params.answers.tweet",)),
    Case("fixed-group-text-over-the-limit",
         ("run", "scenario=debate", "backend=scripted", "population.size=8",
          "population.groups=[{count: 4, strategy: fixed, params: {answers: {message: "
          + LONG_MESSAGE + "}}}]"), ("population.groups.0.params.answers.message",)),
    Case("fixed-opinion-post-over-the-limit",
         ("run", "scenario=opinion_dynamics", "backend=scripted", "population.strategy=fixed",
          "+population.params={answers: {post: " + LONG_MESSAGE + "}}"),
         ("population.params.answers.post",)),
    Case("fixed-donor-strategy-empty", ("run", "scenario=donor_game", "backend=scripted",
                                        "population.strategy=fixed",
                                        "+population.params={answers: {strategy: ' '}}"),
         ("population.params.answers.strategy", "empty")),
    Case("fixed-answer-never-asked", ("run", "scenario=donor_game", "backend=scripted",
                                      "population.strategy=fixed",
                                      "+population.params={answers: {vote: p1}}"),
         ("population.strategy", "vote")),
    # -- wrong types and values -----------------------------------------------------------------
    Case("seed-abc", ("run", "seed=abc"), ("seed",)),
    Case("seed-float", ("run", "seed=1.5"), ("seed",)),
    Case("seed-list", ("run", "seed=[1,2]"), ("seed",)),
    Case("simulations-zero", ("run", "simulations=0"), ("simulations",)),
    Case("simulations-text", ("run", "simulations=many"), ("simulations",)),
    Case("population-size-negative", ("run", "population.size=-1"), ("population.size",)),
    Case("population-size-huge", ("run", "scenario=donor_game", "population.size=1000000000000"),
         ("population.size",)),
    Case("population-groups-too-large", ("run", "scenario=donor_game", "backend=scripted",
                                         "population.groups=[{count: 100, strategy: always_all}]"),
         ("population.groups",)),
    Case("population-memory-unknown-channel", ("run", "population.memory={nochannel: 3}"),
         ("population.memory.nochannel",)),
    Case("population-strategy-reserved", ("run", "backend=scripted", "population.strategy=model"),
         ("population.strategy",)),
    Case("concurrency-zero", ("run", "concurrency=0"), ("concurrency",)),
    Case("max_attempts-zero", ("run", "max_attempts=0"), ("max_attempts",)),
    Case("max_fallback_share-above-one", ("run", "max_fallback_share=1.5"),
         ("max_fallback_share",)),
    Case("chunk_rows-zero", ("run", "chunk_rows=0"), ("chunk_rows",)),
    Case("progress-not-a-bool", ("run", "progress=maybe"), ("progress",)),
    Case("generations-text", ("run", "scenario=donor_game", "scenario.generations=abc"),
         ("scenario.generations",)),
    Case("backend-temperature-negative", ("run", "backend.temperature=-1"),
         ("backend.temperature",)),
    Case("backend-max_batch-zero", ("run", "backend.max_batch=0"), ("backend.max_batch",)),
    Case("openai-base_url-missing", ("run", "backend=openai", "backend.model=m"),
         ("backend.base_url",)),
    Case("openai-api-key-pasted", ("run", "backend=openai", "backend.base_url=http://127.0.0.1:"
                                   "{port}/v1", "backend.model=m",
                                   "backend.api_key_env=sk-proj-Zq3xT9aLm2Pw8Rk4Vn6Bc1Hd5Jf7Gs0Y"),
         ("backend.api_key_env",)),
    Case("graph-k-odd", ("run", "scenario=opinion_model", "graph=watts_strogatz", "graph.k=3"),
         ("graph.k", "must be even")),
    Case("graph-p-above-one", ("run", "scenario=opinion_model", "graph=erdos_renyi", "graph.p=2"),
         ("graph.p",)),
    Case("graph-unknown-key", ("run", "scenario=opinion_model", "graph=watts_strogatz",
                               "+graph.kk=4"), ("graph.kk",)),
    Case("graph-edge-list-no-path", ("run", "scenario=opinion_model", "graph=edge_list"),
         ("graph.path",)),
    Case("graph-edge-list-missing-file", ("run", "scenario=opinion_model", "graph=edge_list",
                                          "graph.path={out}/nope.csv"), ("nope.csv",)),
    # -- unknown names and keys -----------------------------------------------------------------
    Case("unknown-scenario", ("run", "scenario=nope"), ("scenario", "nope")),
    Case("unknown-backend", ("run", "backend=nope"), ("backend", "nope")),
    Case("unknown-backend-name-key", ("run", "backend.name=nope"), ("backend.name", "nope")),
    Case("unknown-graph", ("run", "graph=nope"), ("graph", "nope")),
    Case("unknown-strategy", ("run", "backend=scripted", "population.strategy=nope"),
         ("population.strategy", "nope")),
    Case("unknown-top-level-key", ("run", "+bogus=1"), ("bogus",)),
    Case("unknown-top-level-key-no-plus", ("run", "bogus=1"), ("bogus",)),
    Case("unknown-scenario-key", ("run", "scenario=donor_game", "+scenario.bogus=1"),
         ("scenario.bogus",)),
    # -- bad override syntax and flags ----------------------------------------------------------
    Case("override-double-equals", ("run", "seed==3"), ("seed==3",)),
    Case("override-no-key", ("run", "=3"), ("=3",)),
    Case("override-no-value-sign", ("run", "seed"), ("seed",)),
    Case("override-unbalanced-bracket", ("run", "population.groups=[{count: 2"),
         ("population.groups",)),
    Case("unknown-run-flag", ("run", "--nope"), ("--nope",)),
    Case("unknown-top-level-flag", ("--nope",), ("--nope",)),
    Case("unknown-command", ("nope",), ("nope",)),
    Case("no-command", (), ("command",)),
    # -- run directories ------------------------------------------------------------------------
    *(Case(f"{command}-missing-run_dir", (command,), ("run_dir",))
      for command in ("show", "view", "replay", "resume", "check", "fork")),
    Case("show-a-file", ("show", "{file}"), ("{file}",)),
    Case("show-not-a-run", ("show", "{empty}"), ("{empty}", "not a run directory")),
    Case("replay-not-a-run", ("replay", "{empty}"), ("{empty}",)),
    Case("resume-nonexistent", ("resume", "{out}/nope"), ("nope",)),
    Case("check-a-file", ("check", "{file}"), ("{file}",)),
    Case("view-not-a-run", ("view", "{empty}", "--no-pager"), ("{empty}",)),
    Case("fork-at-negative", ("fork", "{run}", "--at", "-1"), ("--at",)),
    Case("fork-at-not-a-number", ("fork", "{run}", "--at", "abc"), ("--at",)),
    Case("fork-at-missing", ("fork", "{run}"), ("--at",)),
    Case("fork-bad-override", ("fork", "{run}", "--at", "1", "seed==3"), ("seed", "'=3'")),
    Case("fork-unknown-backend-key", ("fork", "{run}", "--at", "1", "+backend.temprature=0.5"),
         ("backend.temprature",)),
    Case("show-manifest-not-json", ("show", "{run}"), ("manifest.json",), damage=not_json),
    Case("resume-manifest-not-json", ("resume", "{run}"), ("manifest.json",), damage=not_json),
    Case("show-manifest-a-list", ("show", "{run}"), ("manifest.json",), damage=json_list),
    Case("show-manifest-missing", ("show", "{run}"), ("{run}",), damage=no_manifest),
    Case("show-newer-log_format", ("show", "{run}"), ("{run}", "log format 99"),
         damage=newer_format),
    Case("resume-newer-log_format", ("resume", "{run}"), ("{run}", "log format 99"),
         damage=newer_format),
    Case("replay-odd-log_format", ("replay", "{run}"), ("log_format",), damage=odd_format),
    Case("resume-missing-chunk", ("resume", "{run}"), ("part-00000.parquet",),
         damage=missing_chunk),
    Case("replay-corrupt-chunk", ("replay", "{run}"), ("part-00000.parquet",),
         damage=junk_chunk),
    Case("resume-manifest-without-config", ("resume", "{run}"), ("manifest.json", "'config'"),
         damage=no_config),
    Case("fork-manifest-without-config", ("fork", "{run}", "--at", "1"),
         ("manifest.json", "'config'"), damage=no_config),
    Case("resume-manifest-infinite-endowment", ("resume", "{run}"), ("scenario.endowment",),
         damage=infinite_endowment),
    Case("view-manifest-not-json", ("view", "{run}", "--no-pager"), ("{run}", "not valid JSON"),
         damage=not_json),
    Case("resume-manifest-bad-config", ("resume", "{run}"), ("seed",), damage=bad_config),
    # -- sweeps ---------------------------------------------------------------------------------
    Case("sweep-swept-out_dir", ("sweep", "seed=1,2", "out_dir={out}/a,{out}/b"), ("out_dir",)),
    Case("sweep-unknown-scenario", ("sweep", "scenario=nope,donor_game", "out_dir={out}"),
         ("scenario", "nope")),
    Case("sweep-bad-value-in-one-job", ("sweep", "seed=1,2", "simulations=0", "out_dir={out}"),
         ("simulations",)),
    Case("sweep-yaml-duplicate-key", ("sweep", "hydra.searchpath=[file://{conf}]",
                                      "scenario=dupkey", "seed=1,2", "out_dir={out}"),
         ("dupkey.yaml", "generations")),
    Case("sweep-run-level-key-in-scenario-yaml", ("sweep", "hydra.searchpath=[file://{conf}]",
                                                  "scenario=mine", "population.size=4,6",
                                                  "out_dir={out}"), ("seed",)),
    Case("sweep-double-equals", ("sweep", "seed==3", "out_dir={out}"), ("seed==3",)),
    Case("sweep-runs-per-task-zero", ("sweep", "seed=1,2", "out_dir={out}", "--runs-per-task",
                                      "0"), ("--runs-per-task",)),
    Case("sweep-workers-negative", ("sweep", "seed=1,2", "out_dir={out}", "--workers", "-1"),
         ("--workers",)),
    Case("sweep-workers-text", ("sweep", "seed=1,2", "--workers", "many"), ("--workers",)),
]


# -- fixtures --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finished")
    assert main([*FINISHED, f"out_dir={out}"]) == 0
    (run,) = out.iterdir()
    return run


@pytest.fixture(scope="module")
def user_conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    conf = tmp_path_factory.mktemp("conf")
    for name, text in USER_YAML.items():
        (conf / name).parent.mkdir(parents=True, exist_ok=True)
        (conf / name).write_text(text)
    return conf


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def placed(text: str, values: dict[str, str]) -> str:
    """`text` with each ``{name}`` of `values` replaced (other braces are YAML, kept)."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def fill(case: Case, tmp_path: Path, finished_run: Path, user_conf: Path) -> tuple[list[str],
                                                                                   dict[str, str]]:
    """The case's argv with its placeholders filled in, and the values used."""
    out = tmp_path / "out"
    out.mkdir()
    plain = tmp_path / "plain.txt"
    plain.write_text("not a folder\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    run = tmp_path / "run" / finished_run.name
    shutil.copytree(finished_run, run)
    if case.damage is not None:
        case.damage(run)
    values = {"out": str(out), "file": str(plain), "conf": str(user_conf), "run": str(run),
              "empty": str(empty), "port": str(closed_port())}
    argv = [placed(a, values) for a in case.argv]
    if argv[:1] == ["run"]:
        argv += [f"{key}={value}" for key, value in (("out_dir", out), ("progress", "false"))
                 if not any(a.startswith(f"{key}=") for a in argv)]
    return argv, values


def assert_one_line(err: str, names: tuple[str, ...], values: dict[str, str]) -> str:
    """`err` is one line ``societas: ...`` naming every one of `names`, with no traceback."""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("societas: "), err
    assert "Traceback" not in err and 'File "' not in err, err
    for name in names:
        assert placed(name, values) in err, (name, err)
    return err


# -- the corpus ------------------------------------------------------------------------------------
def test_the_corpus_is_large_and_its_ids_are_unique():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_ends_as_one_line_naming_it(case, tmp_path, finished_run, user_conf, capfd):
    argv, values = fill(case, tmp_path, finished_run, user_conf)
    code = main(argv)
    captured = capfd.readouterr()
    assert code == case.code, captured  # 2: the user's input; 1 would be a failed run or a bug
    assert_one_line(captured.err, case.names, values)


# -- the real console script -----------------------------------------------------------------------
SUBPROCESS = ["huge-simulations", "yaml-duplicate-key", "unreachable-base_url",
              "resume-scrambled-chunk", "override-double-equals", "sweep-empty-range"]


def societas(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("societas")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "80"})


@pytest.mark.parametrize("case_id", SUBPROCESS)
def test_the_console_script_prints_one_line(case_id, tmp_path, finished_run, user_conf):
    case = next(c for c in CASES if c.id == case_id)
    argv, values = fill(case, tmp_path, finished_run, user_conf)
    done = societas(*argv, cwd=tmp_path)
    assert done.returncode == case.code, done.stderr
    assert_one_line(done.stderr, case.names, values)


def test_debug_shows_the_traceback(tmp_path, finished_run, user_conf):
    case = next(c for c in CASES if c.id == "out_dir-is-a-file")
    argv, _ = fill(case, tmp_path, finished_run, user_conf)
    done = societas(*argv, "--debug", cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback (most recent call last)" in done.stderr
    assert "ConfigError" in done.stderr and done.stderr.count("\n") > 3


def test_nothing_was_started_for_a_config_error(tmp_path, finished_run, user_conf, capfd):
    """Config errors stop before a run directory exists (the out_dir stays empty)."""
    for case_id in ("endowment-inf", "fixed-text-over-the-limit", "intervention-unknown-agent",
                    "unknown-backend-key"):
        case = next(c for c in CASES if c.id == case_id)
        case_dir = tmp_path / case_id
        case_dir.mkdir()
        argv, values = fill(case, case_dir, finished_run, user_conf)
        assert main(argv) == 2
        capfd.readouterr()
        assert not any(Path(values["out"]).iterdir()), case_id


# -- fixed answers: the config-time shape is the shape the run asks ------------------------------
AT_THE_LIMIT = [  # (overrides, question name, event kind, the event field holding the answer)
    (["scenario=debate", "scenario.rounds=1", "population.size=8"], "message", "messaged",
     "message"),
    (["scenario=opinion_dynamics", "scenario.steps=3", "population.size=6", "graph=complete"],
     "post", "posted", "text"),
    (["scenario=donor_game", "scenario.generations=1", "population.size=4"], "strategy",
     "strategy_chosen", "strategy"),
]


@pytest.mark.parametrize(("overrides", "question", "kind", "key"), AT_THE_LIMIT,
                         ids=[c[1] for c in AT_THE_LIMIT])
def test_a_fixed_answer_at_the_limit_runs_and_one_character_more_is_refused(
        overrides, question, kind, key, tmp_path, capfd):
    from societas.simulator import compose_config, read_table
    from societas.simulator._setup import plan_run

    base = [*overrides, "backend=scripted", "population.strategy=fixed", f"out_dir={tmp_path}",
            "progress=false"]
    plan = plan_run(compose_config(base))
    limit = plan.scenario_cls.answer_shapes(plan.scenario_config)[question].char_limit
    longest = "y" * limit
    assert main(["run", *base, f"+population.params={{answers: {{{question}: {longest}}}}}"]) == 0
    capfd.readouterr()
    (run_dir,) = tmp_path.iterdir()
    said = [json.loads(e["data"]) for e in read_table(run_dir).to_pylist() if e["kind"] == kind]
    assert said and all(s[key] == longest for s in said)
    code = main(["run", *base, f"+population.params={{answers: {{{question}: {longest}y}}}}"])
    err = capfd.readouterr().err
    assert code == 2
    assert_one_line(err, (f"population.params.answers.{question}", f"more than {limit}"), {})
