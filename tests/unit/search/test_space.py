"""The search space: each entry drawn from the Optuna distribution the config was checked against."""

from __future__ import annotations

import optuna
from gatelab.search.space import suggest
from gatelab.settings import SearchParam

SPACE = [
    SearchParam("model.hidden_size", "int", low=16, high=64, step=16),
    SearchParam("model.num_layers", "int", low=1, high=4, log=True),
    SearchParam("optim.lr", "float", low=1e-4, high=1e-2, log=True),
    SearchParam("model.dropout", "float", low=0.0, high=0.5, step=0.25),
    SearchParam("optim.name", "categorical", choices=["adam", "sgd"]),
]


def test_draws_lie_on_each_entrys_grid_and_the_trials_record_its_distribution() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    drawn = [suggest(study.ask(), SPACE) for _ in range(30)]
    assert {value["model.hidden_size"] for value in drawn} <= {16, 32, 48, 64}
    assert {value["model.num_layers"] for value in drawn} <= {1, 2, 3, 4}
    assert all(1e-4 <= value["optim.lr"] <= 1e-2 for value in drawn)
    assert {value["model.dropout"] for value in drawn} <= {0.0, 0.25, 0.5}
    assert {value["optim.name"] for value in drawn} == {"adam", "sgd"}
    distributions = study.trials[0].distributions
    assert distributions["model.hidden_size"] == optuna.distributions.IntDistribution(16, 64, step=16)
    assert distributions["optim.lr"] == optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
    assert distributions["optim.name"] == optuna.distributions.CategoricalDistribution(["adam", "sgd"])
