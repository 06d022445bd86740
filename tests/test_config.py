"""Bad configs exit non-zero with one line naming the key path; nothing starts."""

from __future__ import annotations

import pytest

from societas.simulator.cli import main

BAD = [
    (["scenario=werewolf_tournament"], "scenario: unknown option 'werewolf_tournament'; available"),
    (["seed=abc"], "seed: Input should be a valid integer"),
    (["scenario.rounds=-3"], "scenario.rounds: Input should be greater than or equal to 1"),
    (["scenario.survival_fraction=1.5"], "scenario.survival_fraction: Input should be less than 1"),
    (["population.sizee=12"], "population.sizee: unknown key"),
    (["+population.sizee=12"], "population.sizee: unknown key; allowed keys here: size,"),
    (["+scenario.bogus=1"], "scenario.bogus: unknown key; allowed keys here: generations"),
    (["population.strategy=tit_for_tat", "backend=scripted"],  # strategies drive scripted runs
     "population.strategy: unknown strategy 'tit_for_tat'"),
    (["scenario.pairing=zigzag"], "scenario.pairing: Input should be 'alternating' or 'notebook'"),
    (["population.size=7"], "population.size: the donor game pairs two equal halves"),
    (["population.groups=[{count:2,strategy:fixed_fraction,params:{fraction:3}}]"],
     "population.groups.0.params.fraction: Input should be less than or equal to 1"),
    (["backend=gpt5"], "backend: unknown option 'gpt5'"),
    (["backend.temperature=9"], "backend.temperature: Input should be less than or equal to 2"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD, ids=[b[0][0] for b in BAD])
def test_bad_config_gives_one_line_naming_the_key(overrides, message, capsys, tmp_path):
    code = main(["run", *overrides, f"out_dir={tmp_path}", "progress=false"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1, err  # one line, no traceback
    assert err.startswith("societas: config error: ")
    assert message in err
    assert not any(tmp_path.iterdir())  # nothing was started


def test_show_config_prints_the_validated_config(capsys, tmp_path):
    assert main(["run", "seed=5", "scenario.generations=2", "--show-config",
                 f"out_dir={tmp_path}"]) == 0
    out = capsys.readouterr().out
    assert '"seed": 5' in out and '"generations": 2' in out


def test_setting_new_keys_inside_an_existing_dict_points_to_the_plus_syntax(capsys, tmp_path):
    code = main(["run", "population.params={threshold: 0.5}", f"out_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2
    assert "population.params: has no key 'threshold'" in err
    assert "+population.params=" in err
    assert main(["run", "backend=scripted", "population.strategy=discriminator", "--show-config",
                 "+population.params={threshold: 0.5}", f"out_dir={tmp_path}"]) == 0


def test_a_strategy_that_a_model_backend_would_ignore_is_an_error(capsys, tmp_path):
    code = main(["run", "scenario=donor_game", "backend=vllm", "population.strategy=always_all",
                 f"out_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2
    assert "population.strategy: 'always_all' would be ignored: with backend=vllm" in err
