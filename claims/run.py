"""``make claims``: every rule's experiments at a budget, one claims run in MLflow, the evidence table.

One parent run in the experiment ``gatelab-claims`` per budget (found again by its tags, so a re-run
resumes it); under it each rule's run (its findings, figure and own measurements) and every sweep (its own
verdict, no registered model). A rule whose run finished before is read back; a sweep that ended before is
read back, one that did not resumes.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from gatelab.tracking import tags as tag
from gatelab.tracking.client import Tracker, git_sha, redact
from gatelab.tracking.lifecycle import tracked, tracked_run
from gatelab.training.costs import device_name, run_device
from tqdm.auto import tqdm

from claims.config import Budget, ClaimsConfig, load_claims
from claims.evidence import Finding
from claims.lab import EXPERIMENT, Lab
from claims.report import ClaimsReport, effects_figure
from claims.rules import RULES, RuleContext

__all__ = ["CLAIMS_TAG", "RULE_TAG", "claims_config", "estimate", "run_claims"]

#: On a claims run: its budget and settings' fingerprint; on a rule's run: the rule.
CLAIMS_TAG, RULE_TAG = "gatelab.claims", "gatelab.rule"
ROLE_CLAIMS, ROLE_RULE = "claims", "claim"
_FINDINGS, _FIGURE = "findings.json", "figure.png"


def claims_config() -> ClaimsConfig:
    """``configs/claims.yaml``, checked against the rules' functions."""
    return load_claims({name: rule.run for name, rule in RULES.items()})


def estimate(lab: Lab, rules: Sequence[str]) -> tuple[float, dict[str, str], list[str], int]:
    """Minutes the rules will take at the lab's budget: each distinct sweep once (none for a sweep that ended
    before with a verdict, read back), plus each measuring rule.

    Returns:
        The minutes, the distinct sweeps (id: task), the rules that measure, and how many sweeps are read back.
    """
    sweeps = {}
    for rule in rules:
        for spec in RULES[rule].plan(**lab.budget.rules[rule]):
            sweeps.setdefault(lab.runner(spec).id, spec.task)
    measuring = [rule for rule in rules if RULES[rule].measures]
    stored = [sweep for sweep in sweeps if lab.stored_verdict(sweep) is not None]
    minutes = sum(lab.budget.minutes.get(task, 0.0) for sweep, task in sweeps.items() if sweep not in stored)
    minutes += sum(lab.budget.minutes.get(rule, 0.0) for rule in measuring)
    return minutes, sweeps, measuring, len(stored)


def _claims_run(tracker: Tracker, budget: Budget) -> str:
    """The claims run of this budget and settings: found again (reopened), else created."""
    key = f"{budget.name}-{budget.fingerprint()}"
    found = tracker.client.search_runs([tracker.experiment_id], f"tags.`{CLAIMS_TAG}` = '{key}' and "
                                       f"tags.`{tag.ROLE}` = '{ROLE_CLAIMS}'", max_results=1)
    if found:
        tracker.reopen(found[0].info.run_id)
        return found[0].info.run_id
    tags = {CLAIMS_TAG: key, tag.ROLE: ROLE_CLAIMS, tag.GIT_SHA: git_sha(), tag.TASK: "claims"}
    return tracker.start_run(f"claims-{budget.name}", tags, {"budget": budget.name, "seeds": budget.seeds})


def _stored_rule(tracker: Tracker, parent: str, rule: str) -> tuple[list[Finding], bytes] | None:
    """A rule's findings and figure from its run under ``parent``, if it finished before."""
    runs = [run for run in tracker.children(parent, "FINISHED") if run.data.tags.get(RULE_TAG) == rule]
    if not runs:
        return None
    run_id = runs[0].info.run_id
    with tempfile.TemporaryDirectory() as folder:
        stored = json.loads(Path(tracker.client.download_artifacts(run_id, _FINDINGS, folder)).read_text())
        figure = Path(tracker.client.download_artifacts(run_id, _FIGURE, folder)).read_bytes()
    findings = [Finding.from_dict(entry) for entry in stored]
    return findings, figure


def _run_rule(lab: Lab, config: ClaimsConfig, rule: str) -> tuple[list[Finding], bytes]:
    """Run one rule in a run of its own under the claims run: its findings, figure and headline metrics."""
    tracker, text = lab.tracker, config.rules[rule]
    tags = {RULE_TAG: rule, tag.ROLE: ROLE_RULE, tag.GIT_SHA: git_sha(), tag.TASK: "claims"}
    settings = {f"{rule}.{key}": value for key, value in lab.budget.rules[rule].items()}
    with tracked_run(tracker, f"{rule}", tags, settings, parent=lab.parent) as run_id:
        context = RuleContext(lab, run_id, text, config.confidence, config.power)
        findings = RULES[rule].run(context, **lab.budget.rules[rule])
        figure = effects_figure(rule, text, findings, config.confidence)
        tracker.client.log_text(run_id, json.dumps([finding.to_dict() for finding in findings], indent=2), _FINDINGS)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / _FIGURE
            path.write_bytes(figure)
            tracker.client.log_artifact(run_id, str(path))
        headline = findings[0].effect
        tracker.log_metrics(run_id, {"effect": headline.estimate, "effect.low": headline.low,
                                     "effect.high": headline.high, "effect.detectable": headline.detectable})
        tracker.set_tags(run_id, {"gatelab.verdict": findings[0].verdict})
    return findings, figure


def run_claims(names: Sequence[str], budget_name: str, store: Path, out: Path, progress: bool = True) -> ClaimsReport:
    """Run (or resume) the rules ``names`` (ids or names, all when empty) at ``budget_name``; write claims.md,
    claims.json and claims.html to ``out`` and log them on the claims run.

    Raises:
        ConfigError: an unknown rule or budget (before any training), or a bad claims config.
    """
    start = time.perf_counter()
    config = claims_config()
    rules, budget = config.select(names, budget_name, {rule.name: key for key, rule in RULES.items()})
    tracker = Tracker(store, "claims", EXPERIMENT)
    with tempfile.TemporaryDirectory() as folder:
        layers = budget.write_layers(Path(folder))
        lab = Lab(store, budget, tracker, "", layers)
        parent = _claims_run(tracker, budget)
        lab.parent = parent
        with tracked(tracker, parent):
            stored = {rule: found for rule in rules if (found := _stored_rule(tracker, parent, rule))}
            minutes, sweeps, measuring, done = estimate(lab, [rule for rule in rules if rule not in stored])
            print(f"gatelab: claims {', '.join(rules)} at budget '{budget.name}' ({budget.about}): estimate "
                  f"{minutes:.1f} min on a 2-core CPU for {len(sweeps)} sweeps ({done} of them read back) and "
                  f"{len(measuring)} measurements" + (f"; {len(stored)} rules read back" if stored else "")
                  + f"; MLflow experiment {EXPERIMENT}, run {parent}", flush=True)
            bar = tqdm(total=len(sweeps) + len(measuring), desc="claims", unit="experiment", file=sys.stderr,
                       disable=not progress, dynamic_ncols=True)
            lab.done = lambda label: (bar.set_postfix_str(label[:40]), bar.update(1))
            results = {}
            for rule in rules:
                results[rule] = stored.get(rule) or _run_rule(lab, config, rule)
                if rule in measuring:
                    bar.update(1)
            bar.close()
            device = run_device("auto")
            report = ClaimsReport(budget, f"{device.type}: {device_name(device)}, torch threads "
                                          f"{torch.get_num_threads()}", time.perf_counter() - start,
                                  config.rules, {rule: found for rule, (found, _) in results.items()},
                                  {rule: figure for rule, (_, figure) in results.items()}, parent,
                                  redact(tracker.client.tracking_uri), config.confidence)
            out.mkdir(parents=True, exist_ok=True)
            for name, text in (("claims.md", report.to_markdown()), ("claims.json", report.to_json()),
                               ("claims.html", report.to_html())):
                (out / name).write_text(text)
                tracker.client.log_text(parent, text, name)
            tracker.log_metrics(parent, {"seconds": report.seconds})
    return report
