"""configs/claims.yaml: every budget fits the rules' functions; unknown names are refused before any training."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from gatelab.errors import ConfigError

from claims.run import claims_config


def test_every_budget_gives_every_rule_exactly_its_settings() -> None:
    config = claims_config()
    assert list(config.rules) == [f"R{index}" for index in range(1, 9)]
    assert {"tiny", "small", "large"} <= set(config.budgets)
    rules, budget = config.select([], "tiny")
    assert rules == list(config.rules) and budget.seeds >= 2


@pytest.mark.parametrize("args, named", [(["--claims", "[R1,R9]", "--budget", "tiny"], "unknown rule R9"),
                                         (["--budget", "huge"], "unknown budget 'huge'")])
def test_unknown_rule_or_budget_is_refused_with_the_valid_names_before_anything_runs(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], named: str) -> None:
    store = tmp_path / "mlruns"
    code, _, err = run_cli(capsys, "claims", *args, "--store", str(store))
    assert code == 2
    assert named in err
    assert ("R1, R2, R3, R4, R5, R6, R7, R8" in err) if "rule" in named else ("tiny, small, large" in err)
    assert not store.exists(), "nothing may be written before the names are checked"


def test_a_budget_with_a_setting_a_rule_does_not_take_is_refused(tmp_path: Path) -> None:
    from claims.config import load_claims
    from claims.rules import RULES

    text = claims_config().path.read_text().replace("R5: {events: 40, rounds: 6}", "R5: {events: 40, round: 6}")
    path = tmp_path / "claims.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"budgets.tiny.rules.R5: unknown settings \['round'\], missing \['rounds'\]"):
        load_claims({name: rule.run for name, rule in RULES.items()}, path)


def test_a_rule_is_selected_by_its_id_or_its_name() -> None:
    from claims.rules import RULES

    config, aliases = claims_config(), {rule.name: key for key, rule in RULES.items()}
    assert aliases["long_sequences"] == "R1" and len(aliases) == len(RULES)
    rules, _ = config.select(["importance", "R3", "long_sequences"], "tiny", aliases)
    assert rules == ["R1", "R3", "R8"]
    with pytest.raises(ConfigError, match=r"unknown rule long_sequnces; valid rules: R1, .*, R8 \(or by name: "
                                          r"long_sequences, precision, .*importance\)"):
        config.select(["long_sequnces"], "tiny", aliases)
