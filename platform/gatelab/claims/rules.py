"""The rules of thumb as experiments: one function per rule, with ``plan_*`` naming the sweeps it needs.

Each rule function takes the rule's context (``lab``) and its settings from ``configs/claims.yaml``, runs
its sweeps through ``lab.sweep`` (each sweep once per claims run, shared between rules) or measures, and
returns its findings, the first one the rule's headline. ``docs/claims.md`` states each effect.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import optuna
import torch
from optuna.importance import FanovaImportanceEvaluator, get_param_importances
from optuna.trial import TrialState, create_trial
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.functional.classification import (
    binary_calibration_error,
    binary_precision_at_fixed_recall,
    multiclass_precision_at_fixed_recall,
)

from gatelab.claims.config import RuleText
from gatelab.claims.evidence import (
    Effect,
    Finding,
    bootstrap_effect,
    exact_ratio,
    judge,
    log_ratio_effect,
    paired_effect,
    round_ratio_effect,
)
from gatelab.claims.lab import Lab, Outcome, SweepSpec
from gatelab.claims.measure import (
    equal_parameter_size,
    parameters,
    seconds_to_target,
    streaming_rounds,
    training_rounds,
)
from gatelab.errors import ConfigError
from gatelab.models import ModelConfig, SequenceModel
from gatelab.settings import OptimConfig
from gatelab.stats import mean_interval
from gatelab.tracking.model_registry import load_saved_model
from gatelab.tracking.serving import run_classifier
from gatelab.training.config import build_parser, instantiate_run
from gatelab.training.costs import macs_per_sequence
from gatelab.training.module import SequenceClassifier, make_optimizer
from gatelab.training.streaming import StreamingScorer

__all__ = ["RULES", "Rule", "RuleContext"]

CELLS = ("lstm", "gru")
#: Interactions of hyperparameters (R8) are not computed, and why.
NO_INTERACTIONS = ("pairwise interactions not computed: Optuna's fANOVA gives main effects only, and the fanova "
                   "package that computes interactions (2.0.19, last released 2020-06) needs pyrfr built with SWIG "
                   "and is no longer maintained")


@dataclass
class RuleContext:
    """What a rule function works with.

    Args:
        lab: runs the claims' sweeps.
        run: the rule's own MLflow run (a child of the claims run), for what it measures itself.
        text: the rule as the config states it.
        confidence: of every interval.
        power: at which a mean's smallest detectable effect is stated.
    """

    lab: Lab
    run: str
    text: RuleText
    confidence: float
    power: float

    def finding(self, rule: str, experiment: str, effect: Effect, runs: Sequence[str], notes: str = "",
                numbers: Mapping[str, float] | None = None) -> Finding:
        """A finding judged by the rule's prediction; the rule's own run is linked with the given runs."""
        return Finding(rule, experiment, effect, judge(effect, self.text.predicts), [*runs, self.run], notes,
                       dict(numbers or {}))

    def paired(self, values: Sequence[float]) -> Effect:
        return paired_effect(values, self.confidence, self.power)

    def log(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log measurements on the rule's run."""
        self.lab.tracker.log_metrics(self.run, {key: float(value) for key, value in metrics.items()}, step)


def _interval_text(values: Sequence[float], confidence: float) -> str:
    return str(mean_interval(values, confidence))


def _runs(outcomes: Sequence[Outcome]) -> list[str]:
    return [run for outcome in outcomes for run in outcome.runs]


# R1: long sequences ------------------------------------------------------------------------------------------

def _r1_legs(lengths: Sequence[int], lm_bptt: Sequence[int],
             ecg_context_beats: Sequence[int]) -> list[tuple[str, str, Sequence[int], str]]:
    """R1's legs: task, the config key that sets the length, its values, and the length in words."""
    return [("synthetic", "data.init_args.length", lengths, "delayed recall of step 0, length"),
            ("lm", "data.init_args.bptt", lm_bptt, "Tiny Shakespeare characters, TBPTT window"),
            ("physio", "data.init_args.context_beats", ecg_context_beats,
             "MIT-BIH inter-patient beats with their rhythm (a step per beat), beats on each side")]


def plan_r1(lengths: Sequence[int], lm_bptt: Sequence[int], ecg_context_beats: Sequence[int]) -> list[SweepSpec]:
    return [SweepSpec.of(task, {key: size}) for task, key, sizes, _ in _r1_legs(lengths, lm_bptt, ecg_context_beats)
            for size in sizes]


def r1(lab: RuleContext, lengths: Sequence[int], lm_bptt: Sequence[int],
       ecg_context_beats: Sequence[int]) -> list[Finding]:
    """LSTM's advantage from the shortest to the longest length: delayed recall (lengths), character LM (TBPTT),
    ECG beats in a context of ``2k + 1`` beats (``k`` in ``ecg_context_beats``); a leg with fewer than two sizes
    is not run."""
    findings = []
    for task, key, sizes, what in _r1_legs(lengths, lm_bptt, ecg_context_beats):
        if len(sizes) < 2:
            continue
        outcomes = [lab.lab.sweep(SweepSpec.of(task, {key: size})) for size in sizes]
        advantages = [outcome.advantage() for outcome in outcomes]
        growth = [longest - shortest for shortest, longest in zip(advantages[0], advantages[-1], strict=True)]
        per_size = "; ".join(f"{size}: {_interval_text(values, lab.confidence)}"
                             for size, values in zip(sizes, advantages, strict=True))
        for size, values in zip(sizes, advantages, strict=True):
            lab.log({f"{task}.lstm_advantage.{size}": float(np.mean(values))})
        findings.append(lab.finding("R1", f"{task}: {what} {sizes[-1]} vs {sizes[0]} ({outcomes[0].metric})",
                                    lab.paired(growth), _runs(outcomes),
                                    f"LSTM minus GRU per size: {per_size}"))
    return findings


# R2: precision-critical --------------------------------------------------------------------------------------

R2_TASKS = ("fraud", "physio")


def plan_r2(recall: float, bins: int, tasks: Sequence[str], ecg_classes: Sequence[str]) -> list[SweepSpec]:
    unknown = sorted(set(tasks) - set(R2_TASKS))
    if unknown:
        raise ConfigError(f"R2 tasks: {unknown} have no R2 experiment; give some of {list(R2_TASKS)} in "
                          "configs/claims.yaml.")
    return [SweepSpec.of(task) for task in tasks]


def _test_scores(lab: RuleContext, outcome: Outcome) -> tuple[dict[str, list[torch.Tensor]], torch.Tensor, Any]:
    """Each cell's saved models' test probabilities (per selection seed: (examples,) for a binary task, else
    (examples, classes)), the test labels, and the sweep's DataModule."""
    run_cfg = instantiate_run(build_parser(), outcome.cfg)
    run_cfg.data.prepare_data()
    run_cfg.data.setup("test")
    batches = list(run_cfg.data.test_dataloader())
    scores = {}
    for cell in CELLS:
        scores[cell] = []
        for run_id in outcome.cell(cell)["seed_runs"]:
            model, _ = load_saved_model(lab.lab.tracker, run_id)
            with torch.inference_mode():
                scores[cell].append(torch.cat([model(batch["x"]) for batch in batches]))
    return scores, torch.cat([batch["y"] for batch in batches]), run_cfg.data


def _ecg_precision(lab: RuleContext, sensitivity: float, classes: Sequence[str]) -> list[Finding]:
    """Per class, one-vs-rest positive predictivity (+P) at ``sensitivity`` (Se) on the physio sweep's test
    records (DS2), LSTM minus GRU per selection seed."""
    outcome = lab.lab.sweep(SweepSpec.of("physio"))
    scores, labels, data = _test_scores(lab, outcome)
    missing = [name for name in classes if name not in data.classes]
    if missing:
        raise ConfigError(f"R2 ecg_classes: {missing} are not classes of the physio sweep ({list(data.classes)}); "
                          "name some of them in configs/claims.yaml.")
    findings = []
    for name in classes:
        index = data.classes.index(name)
        found = {cell: [float(multiclass_precision_at_fixed_recall(p, labels, len(data.classes), sensitivity)[0][index])
                        for p in values] for cell, values in scores.items()}
        for cell in CELLS:
            for step, value in enumerate(found[cell]):
                lab.log({f"{cell}.test_ppv_{name}_at_se_{sensitivity:g}": value}, step)
        findings.append(lab.finding(
            "R2", f"physio: {name} +P at {sensitivity:.0%} Se (one-vs-rest, DS2 test records), LSTM minus GRU",
            lab.paired(np.subtract(found["lstm"], found["gru"]).tolist()), outcome.runs,
            f"LSTM {_interval_text(found['lstm'], lab.confidence)}, GRU {_interval_text(found['gru'], lab.confidence)}; "
            f"{int((labels == index).sum()):,} {name} beats of {len(labels):,}"))
    return findings


def _fraud_precision(lab: RuleContext, recall: float, bins: int) -> list[Finding]:
    """Precision at a fixed recall, card precision@k and calibration error on fraud's test split, per seed."""
    outcome = lab.lab.sweep(SweepSpec.of("fraud"))
    scores, labels, _ = _test_scores(lab, outcome)
    precision = {cell: [float(binary_precision_at_fixed_recall(p, labels, min_recall=recall)[0]) for p in values]
                 for cell, values in scores.items()}
    calibration = {cell: [float(binary_calibration_error(p, labels, n_bins=bins)) for p in values]
                   for cell, values in scores.items()}
    for cell in CELLS:
        for step, (found, error) in enumerate(zip(precision[cell], calibration[cell], strict=True)):
            lab.log({f"{cell}.test_precision_at_recall_{recall:g}": found, f"{cell}.test_ece_{bins}_bins": error}, step)
    card = next(key for key in outcome.cell("lstm")["test"] if key.startswith("test/card_precision_at_"))
    runs = outcome.runs
    return [
        lab.finding("R2", f"fraud: precision at {recall:.0%} recall, LSTM minus GRU",
                    lab.paired(np.subtract(precision["lstm"], precision["gru"]).tolist()), runs,
                    f"LSTM {_interval_text(precision['lstm'], lab.confidence)}, GRU "
                    f"{_interval_text(precision['gru'], lab.confidence)}"),
        lab.finding("R2", f"fraud: {card.removeprefix('test/')}, LSTM minus GRU", lab.paired(outcome.advantage(card)),
                    runs),
        lab.finding("R2", f"fraud: expected calibration error ({bins} bins), GRU minus LSTM (positive: LSTM "
                          "better calibrated)", lab.paired(np.subtract(calibration["gru"], calibration["lstm"]).tolist()),
                    runs, f"LSTM {_interval_text(calibration['lstm'], lab.confidence)}, GRU "
                          f"{_interval_text(calibration['gru'], lab.confidence)}"),
    ]


def r2(lab: RuleContext, recall: float, bins: int, tasks: Sequence[str], ecg_classes: Sequence[str]) -> list[Finding]:
    """Fraud (in ``tasks``): precision at a fixed recall, card precision@k and calibration error on the test split;
    physio (in ``tasks``): each of ``ecg_classes``' +P at Se = ``recall``; LSTM minus GRU per seed."""
    plan_r2(recall, bins, tasks, ecg_classes)
    return ((_fraud_precision(lab, recall, bins) if "fraud" in tasks else [])
            + (_ecg_precision(lab, recall, ecg_classes) if "physio" in tasks else []))


# R3: resources -----------------------------------------------------------------------------------------------

def plan_r3(**settings: Any) -> list[SweepSpec]:
    return []


def _tensors(loader: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """A loader's whole split as one tensor of sequences and one of targets."""
    batches = list(loader)
    return torch.cat([batch["x"] for batch in batches]), torch.cat([batch["y"] for batch in batches])


def _time_to_target(lab: RuleContext, hidden_size: int, length: int, value: float, lr: float, batch: int, chunk: int,
                    max_steps: int, seeds: int) -> Finding:
    """Training seconds until the validation objective reaches ``value`` on delayed recall (the budget's synthetic
    data at ``length``), GRU / LSTM at equal hidden size, trained side by side (``seconds_to_target``) once per seed."""
    run_cfg = instantiate_run(build_parser(), lab.lab.config(SweepSpec.of("synthetic", {"data.init_args.length": length})))
    data = run_cfg.data
    data.prepare_data()
    data.setup("fit")
    x, y = _tensors(data.train_dataloader())
    val_x, val_y = _tensors(data.val_dataloader())
    metrics, key = data.make_metrics(), data.objective.removeprefix("val/")

    def score(module: SequenceClassifier) -> float:
        metrics.reset()
        with torch.inference_mode():
            metrics.update(module.score(val_x), val_y)
        return float(metrics.compute()[key])

    def reached(found: float) -> bool:
        return found >= value if data.direction == "maximize" else found <= value

    optim = replace(run_cfg.optim, lr=lr)
    reaches = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        modules = {cell: SequenceClassifier(data.input_size, data.output_size,
                                            replace(run_cfg.model, cell=cell, hidden_size=hidden_size), optim,
                                            data.make_loss(), MetricCollection({})) for cell in CELLS}
        optimizers = {cell: make_optimizer(module.parameters(), optim) for cell, module in modules.items()}
        reaches.append(seconds_to_target(modules, optimizers, x, y, score, reached, batch, chunk, max_steps, seed))
        lab.log({f"{cell}.seconds_to_target": found.seconds for cell, found in reaches[-1].items()}, seed)
    capped = ", ".join(f"{cell.upper()} {sum(not found[cell].reached for found in reaches)} of {seeds}" for cell in CELLS)
    per_seed = ", ".join(f"{found['lstm'].seconds:.3g}/{found['gru'].seconds:.3g} ({found['lstm'].steps}/"
                         f"{found['gru'].steps} steps)" for found in reaches)
    return lab.finding("R3", f"synthetic delayed recall (length {length}, hidden {hidden_size}, lr {lr:g}, batch "
                             f"{batch}): training seconds until {data.objective} reaches {value:g}, GRU / LSTM",
                       log_ratio_effect([found["gru"].seconds / found["lstm"].seconds for found in reaches],
                                        lab.confidence, lab.power, "seeds"), [],
                       f"seconds (steps) per seed LSTM/GRU: {per_seed}; validated every {chunk} steps, untimed; not "
                       f"reached within {max_steps:,} steps (counted at the cap, so its time is a lower bound): "
                       f"{capped}")


def r3(lab: RuleContext, input_size: int, hidden_size: int, length: int, batch_sizes: Sequence[int], steps: int,
       rounds: int, target_length: int, target_value: float, target_lr: float, target_batch: int, target_chunk: int,
       target_max_steps: int, target_seeds: int) -> list[Finding]:
    """Training step time and peak memory, GRU over LSTM, at equal hidden size and at equal parameters;
    parameters and multiply-accumulates counted; training seconds to a target validation value (``target_*``,
    ``_time_to_target``) at ``hidden_size``."""
    lstm = ModelConfig(cell="lstm", hidden_size=hidden_size)
    target = parameters(SequenceModel(input_size, 1, lstm))
    matched = equal_parameter_size("gru", target, input_size, 1)
    configs = {"lstm": lstm, "gru": ModelConfig(cell="gru", hidden_size=hidden_size),
               "gru_equal_params": ModelConfig(cell="gru", hidden_size=matched)}
    sequence = torch.zeros(1, length, input_size)
    counts = {name: (parameters(SequenceModel(input_size, 1, cfg)),
                     macs_per_sequence(SequenceModel(input_size, 1, cfg), sequence)) for name, cfg in configs.items()}
    for name, (params, macs) in counts.items():
        lab.log({f"{name}.params": params, f"{name}.macs_per_sequence": macs})
    size = f"hidden {hidden_size}, {length} steps of {input_size} features"
    findings, memory_rounds = [], {}
    for batch in batch_sizes:
        seconds, memory_rounds = training_rounds(configs, input_size, length, batch, steps, rounds)
        for name, values in seconds.items():
            lab.log({f"{name}.train_step_ms.batch{batch}": 1e3 * float(np.median(values))})
        findings.append(lab.finding("R3", f"batch {batch}, equal hidden size: training step time GRU / LSTM ({size})",
                                    round_ratio_effect(seconds["gru"], seconds["lstm"], lab.confidence), [],
                                    f"median ms/step LSTM {1e3 * np.median(seconds['lstm']):.3g}, GRU "
                                    f"{1e3 * np.median(seconds['gru']):.3g}"))
        findings.append(lab.finding("R3", f"batch {batch}, equal parameters (GRU hidden {matched}: "
                                          f"{counts['gru_equal_params'][0]:,} vs {target:,}): training step time GRU / LSTM",
                                    round_ratio_effect(seconds["gru_equal_params"], seconds["lstm"], lab.confidence),
                                    []))
    findings.append(_time_to_target(lab, hidden_size, target_length, target_value, target_lr, target_batch,
                                    target_chunk, target_max_steps, target_seeds))
    findings.append(lab.finding("R3", f"batch {batch_sizes[-1]}, equal hidden size: peak memory of training GRU / LSTM "
                                      "(CPU: process resident set, interpreter included)",
                                round_ratio_effect(memory_rounds["gru"], memory_rounds["lstm"], lab.confidence), []))
    numbers = {"LSTM params": counts["lstm"][0], "GRU params": counts["gru"][0],
               "LSTM MACs/seq": counts["lstm"][1], "GRU MACs/seq": counts["gru"][1]}
    findings.append(lab.finding("R3", f"parameters GRU / LSTM, equal hidden size ({size})",
                                exact_ratio(counts["gru"][0], counts["lstm"][0], "parameters"), [], numbers=numbers))
    findings.append(lab.finding("R3", f"multiply-accumulates per sequence GRU / LSTM, equal hidden size ({size})",
                                exact_ratio(counts["gru"][1], counts["lstm"][1], "multiply-accumulates"), [],
                                numbers=numbers))
    return findings


# R4: data size -----------------------------------------------------------------------------------------------

#: R4's learning curves: per task, the DataModule key that trains on a fraction, and what is counted.
R4_LEGS = {"fraud": ("data.init_args.card_fraction", "the cards"),
           "physio": ("data.init_args.record_fraction", "the DS1 training records")}


def _fraction_spec(task: str, fraction: float) -> SweepSpec:
    return SweepSpec.of(task, {} if fraction == 1.0 else {R4_LEGS[task][0]: fraction})


def plan_r4(card_fractions: Sequence[float], ecg_record_fractions: Sequence[float]) -> list[SweepSpec]:
    return ([_fraction_spec("fraud", fraction) for fraction in card_fractions]
            + [_fraction_spec("physio", fraction) for fraction in ecg_record_fractions])


def _generalisation_gap(lab: RuleContext, outcome: Outcome, cell: str) -> float:
    """Mean over the selection seeds of test loss minus final training loss."""
    gaps = []
    for run_id in outcome.cell(cell)["seed_runs"]:
        metrics = lab.lab.tracker.client.get_run(run_id).data.metrics
        gaps.append(metrics["test/loss"] - metrics["train/loss"])
    return float(np.mean(gaps))


def _learning_curve(lab: RuleContext, task: str, fractions: Sequence[float]) -> list[Finding]:
    """GRU minus LSTM on ``task`` trained on growing ``fractions`` of its training data, and the generalisation gap
    per size."""
    what = R4_LEGS[task][1]
    outcomes = [lab.lab.sweep(_fraction_spec(task, fraction)) for fraction in fractions]
    advantages = [outcome.advantage(better="gru", worse="lstm") for outcome in outcomes]
    gaps = {}
    for fraction, outcome in zip(fractions, outcomes, strict=True):
        for cell in CELLS:
            gaps[cell, fraction] = _generalisation_gap(lab, outcome, cell)
            lab.log({f"{task}.{cell}.generalisation_gap.{fraction:g}": gaps[cell, fraction]})
    per_size = "; ".join(f"{fraction:.0%}: GRU-LSTM {_interval_text(values, lab.confidence)}, gap (test minus train "
                         f"loss) LSTM {gaps['lstm', fraction]:.3g}, GRU {gaps['gru', fraction]:.3g}"
                         for fraction, values in zip(fractions, advantages, strict=True))
    runs = _runs(outcomes)
    smallest, largest = fractions[0], fractions[-1]
    shrink = [small - large for small, large in zip(advantages[0], advantages[-1], strict=True)]
    return [lab.finding("R4", f"{task}: GRU minus LSTM ({outcomes[0].metric}) trained on {smallest:.0%} of {what}",
                        lab.paired(advantages[0]), runs, per_size),
            lab.finding("R4", f"{task}: GRU's advantage at {smallest:.0%} of {what} minus at {largest:.0%}",
                        lab.paired(shrink), runs)]


def r4(lab: RuleContext, card_fractions: Sequence[float], ecg_record_fractions: Sequence[float]) -> list[Finding]:
    """Learning curves, GRU minus LSTM: fraud on ``card_fractions`` of the cards, ECG on ``ecg_record_fractions`` of
    the DS1 training records (``record_fraction``); a leg with fewer than two fractions is not run."""
    legs = (("fraud", card_fractions), ("physio", ecg_record_fractions))
    return [finding for task, fractions in legs if len(fractions) >= 2
            for finding in _learning_curve(lab, task, fractions)]


# R5: latency -------------------------------------------------------------------------------------------------

def plan_r5(events: int, rounds: int) -> list[SweepSpec]:
    return [SweepSpec.of("fraud")]


def r5(lab: RuleContext, events: int, rounds: int) -> list[Finding]:
    """Streaming per-event latency at batch 1, GRU over LSTM: at the sizes the fraud sweep chose, and at equal size."""
    outcome = lab.lab.sweep(SweepSpec.of("fraud"))
    client = lab.lab.tracker.client
    chosen = {cell: run_classifier("fraud", client, outcome.cell(cell)["model_run"])[0] for cell in CELLS}
    _, example = load_saved_model(lab.lab.tracker, outcome.cell("lstm")["model_run"])
    stream = example.reshape(-1, example.shape[-1])
    lstm = chosen["lstm"].net
    equal = SequenceClassifier(lstm.encoder.in_features, lstm.head.out_features,
                               ModelConfig(cell="gru", hidden_size=lstm.cfg.hidden_size), OptimConfig(), nn.Identity(),
                               MetricCollection({}))
    scorers = {"lstm": StreamingScorer(chosen["lstm"]), "gru": StreamingScorer(chosen["gru"]),
               "gru_equal_size": StreamingScorer(equal)}
    measured = streaming_rounds(scorers, stream, events, rounds)
    medians = {name: [float(np.median(values)) for values in per_round] for name, per_round in measured.items()}
    numbers = {}
    for name, per_round in measured.items():
        every = np.concatenate(per_round)
        numbers |= {f"{name} p50 ms": float(np.percentile(every, 50)), f"{name} p99 ms": float(np.percentile(every, 99))}
    lab.log({key.replace(" ", "."): value for key, value in numbers.items()})
    sizes = {cell: chosen[cell].net.cfg.hidden_size for cell in CELLS}
    what = f"{events * rounds} events per model over {rounds} rounds, one key, batch 1"
    return [lab.finding("R5", f"fraud: streaming p50 latency per event GRU / LSTM, sizes the sweep chose (hidden LSTM "
                              f"{sizes['lstm']}, GRU {sizes['gru']})",
                        round_ratio_effect(medians["gru"], medians["lstm"], lab.confidence), outcome.runs, what,
                        numbers),
            lab.finding("R5", f"fraud: streaming p50 latency per event GRU / LSTM, equal size (hidden {sizes['lstm']})",
                        round_ratio_effect(medians["gru_equal_size"], medians["lstm"], lab.confidence), outcome.runs,
                        what)]


# R6: prototyping ---------------------------------------------------------------------------------------------

def plan_r6(share: float, card_fractions: Sequence[float]) -> list[SweepSpec]:
    return plan_r4(card_fractions, [])


def time_to_share(study: optuna.Study, share: float) -> float:
    """Wall seconds of a study's trials, in order, until its best-so-far covers ``share`` of the way from the
    first completed trial's value to the final best (either direction)."""
    trials = sorted((trial for trial in study.get_trials(deepcopy=False) if trial.datetime_complete),
                    key=lambda trial: trial.number)
    values = [trial.value for trial in trials if trial.state == TrialState.COMPLETE]
    better = max if study.direction == optuna.study.StudyDirection.MAXIMIZE else min
    target = values[0] + share * (better(values) - values[0])
    seconds, best = 0.0, None
    for trial in trials:
        seconds += (trial.datetime_complete - trial.datetime_start).total_seconds()
        if trial.state == TrialState.COMPLETE:
            best = trial.value if best is None else better(best, trial.value)
            if better(best, target) == best:
                return seconds
    return seconds


def r6(lab: RuleContext, share: float, card_fractions: Sequence[float]) -> list[Finding]:
    """Search wall time to ``share`` of the final best, GRU over LSTM, over fraud sweeps (R4's, shared)."""
    outcomes = [lab.lab.sweep(spec) for spec in plan_r6(share, card_fractions)]
    times = [{cell: time_to_share(outcome.studies[cell], share) for cell in CELLS} for outcome in outcomes]
    for step, found in enumerate(times):
        lab.log({f"{cell}.seconds_to_{share:g}_of_best": value for cell, value in found.items()}, step)
    full = outcomes[-1]
    curves = "; ".join(f"{result['cell'].upper()} " + ", ".join(f"{value:.3g}" for value in result["budget"]["expected"])
                       for result in full.verdict["cells"] if result.get("budget"))
    trials = len(full.studies["lstm"].get_trials(deepcopy=False))
    fractions = ", ".join(f"{fraction:.0%}" for fraction in card_fractions)
    return [lab.finding("R6", f"fraud: search seconds to {share:.0%} of the way to the final best, GRU / LSTM, over "
                              f"{len(outcomes)} sweeps (cards {fractions}) of {trials} random-search trials per cell",
                        log_ratio_effect([found["gru"] / found["lstm"] for found in times], lab.confidence, lab.power),
                        _runs(outcomes),
                        "seconds per sweep LSTM/GRU: " + ", ".join(f"{found['lstm']:.3g}/{found['gru']:.3g}"
                                                                   for found in times)
                        + f"; expected best {full.metric.replace('test/', 'val/')} of n = 1, 2, ... trials (Dodge et "
                          f"al. 2019) at {card_fractions[-1]:.0%} of the cards: {curves}")]


# R7: forget-gate bias ----------------------------------------------------------------------------------------

def _bias_specs(task: str, synthetic_length: int, biases: Sequence[float]) -> list[SweepSpec]:
    base = {"data.init_args.length": synthetic_length} if task == "synthetic" else {}
    return [SweepSpec.of(task, base | {"model.forget_bias": bias}) for bias in biases]


def plan_r7(synthetic_length: int, biases: Sequence[float], tasks: Sequence[str]) -> list[SweepSpec]:
    return [spec for task in tasks for spec in _bias_specs(task, synthetic_length, biases)]


def r7(lab: RuleContext, synthetic_length: int, biases: Sequence[float], tasks: Sequence[str]) -> list[Finding]:
    """The LSTM's advantage over the GRU with forget-gate bias ``biases[-1]`` minus with ``biases[0]``."""
    findings = []
    for task in tasks:
        outcomes = [lab.lab.sweep(spec) for spec in _bias_specs(task, synthetic_length, biases)]
        first, last = outcomes[0].advantage(), outcomes[-1].advantage()
        where = f"{task}" + (f" (length {synthetic_length})" if task == "synthetic" else "")
        findings.append(lab.finding("R7", f"{where}: LSTM minus GRU ({outcomes[0].metric}) at forget bias "
                                          f"{biases[-1]:g} minus at {biases[0]:g}",
                                    lab.paired([b - a for a, b in zip(first, last, strict=True)]), _runs(outcomes),
                                    f"LSTM minus GRU at bias {biases[0]:g}: {_interval_text(first, lab.confidence)}; "
                                    f"at {biases[-1]:g}: {_interval_text(last, lab.confidence)}"))
    return findings


# R8: importance ----------------------------------------------------------------------------------------------

def plan_r8(bootstrap: int, trees: int) -> list[SweepSpec]:
    return [SweepSpec.of("fraud")]

LEARNING_RATE = "optim.lr"


def _lr_lead(trials: Sequence[optuna.trial.FrozenTrial], direction: optuna.study.StudyDirection, trees: int,
             seed: int) -> tuple[float, dict[str, float]]:
    """fANOVA's importance of the learning rate minus the largest other one, and every importance."""
    study = optuna.create_study(direction=direction)
    study.add_trials([create_trial(params=trial.params, distributions=trial.distributions, value=trial.value)
                      for trial in trials])
    importances = get_param_importances(study, evaluator=FanovaImportanceEvaluator(n_trees=trees, seed=seed))
    others = [value for name, value in importances.items() if name != LEARNING_RATE]
    return importances.get(LEARNING_RATE, 0.0) - max(others, default=0.0), importances


def r8(lab: RuleContext, bootstrap: int, trees: int) -> list[Finding]:
    """fANOVA main-effect importances per cell over the fraud sweep's random search (Greff et al. 2017)."""
    outcome = lab.lab.sweep(SweepSpec.of("fraud"))
    findings = []
    generator = np.random.default_rng(0)
    for cell in CELLS:
        study = outcome.studies[cell]
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        lead, importances = _lr_lead(trials, study.direction, trees, 0)
        lab.log({f"{cell}.fanova.{name}": value for name, value in importances.items()})
        resampled = []
        for index in range(bootstrap):
            drawn = [trials[i] for i in generator.integers(len(trials), size=len(trials))]
            try:
                value = _lr_lead(drawn, study.direction, trees, index + 1)[0]
            except (ValueError, RuntimeError, ZeroDivisionError):  # a resample too uniform for a forest
                continue
            if math.isfinite(value):
                resampled.append(value)
        effect = bootstrap_effect(lead, resampled or [lead], lab.confidence)
        shown = ", ".join(f"{name} {value:.2f}" for name, value in importances.items())
        findings.append(lab.finding("R8", f"fraud, {cell.upper()}: learning rate's fANOVA importance minus the next "
                                          f"hyperparameter's, over {len(trials)} random-search trials",
                                    effect, outcome.runs, f"importances ({len(trials)} trials): {shown}; "
                                                          f"{len(resampled)} usable resamples; {NO_INTERACTIONS}",
                                    {"trials": len(trials)}))
    return findings


@dataclass(frozen=True)
class Rule:
    """A rule's experiment (``run``), the sweeps it needs (``plan``, same settings) and whether it also measures."""

    run: Callable[..., list[Finding]]
    plan: Callable[..., list[SweepSpec]]
    measures: bool = False


RULES: dict[str, Rule] = {
    "R1": Rule(r1, plan_r1), "R2": Rule(r2, plan_r2), "R3": Rule(r3, plan_r3, measures=True), "R4": Rule(r4, plan_r4),
    "R5": Rule(r5, plan_r5, measures=True), "R6": Rule(r6, plan_r6), "R7": Rule(r7, plan_r7),
    "R8": Rule(r8, plan_r8),
}
