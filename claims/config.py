"""``configs/claims.yaml`` read and checked: the rules, their effects, the verdict's levels and the budgets.

Unknown rule or budget names, and rule settings a rule does not take, are refused here, before any
training, with the valid names listed.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from gatelab.errors import ConfigError
from gatelab.training.config import configs_dir

__all__ = ["Budget", "ClaimsConfig", "RuleText", "load_claims"]


@dataclass(frozen=True)
class RuleText:
    """A rule of thumb as the table states it.

    Args:
        rule: the advice, in words.
        source: where it comes from.
        effect: what is measured, in words.
        predicts: the side of the null (0 for a difference, 1 for a ratio) the rule says the effect lies on.
    """

    rule: str
    source: str
    effect: str
    predicts: Literal["above", "below"]


@dataclass(frozen=True)
class Budget:
    """One budget of ``configs/claims.yaml``.

    Args:
        name: its name (``tiny``, ``small``, ``large``).
        about: what it is for, in words.
        seeds: selection seeds of every sweep's verdict.
        minutes: estimated minutes per sweep of each task and per measuring rule.
        tasks: per task, a config layer (as a ``CONFIG=`` file) laid over ``configs/<task>.yaml``.
        rules: each rule's settings (the keyword arguments of its function).
    """

    name: str
    about: str
    seeds: int
    minutes: dict[str, float]
    tasks: dict[str, dict[str, Any]]
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A short hash of the budget's settings: a claims run resumes only the same budget."""
        text = json.dumps([self.name, self.seeds, self.tasks, self.rules], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    def write_layers(self, folder: Path) -> dict[str, Path]:
        """Each task's layer as a YAML file in ``folder``; returns the paths by task."""
        paths = {}
        for task, layer in self.tasks.items():
            paths[task] = folder / f"claims-{self.name}-{task}.yaml"
            paths[task].write_text(yaml.safe_dump(layer, sort_keys=False))
        return paths


@dataclass(frozen=True)
class ClaimsConfig:
    """The whole file: the verdict's levels, the rules and the budgets."""

    confidence: float
    power: float
    rules: dict[str, RuleText]
    budgets: dict[str, Budget]
    path: Path

    def select(self, names: Sequence[str], budget: str,
               aliases: Mapping[str, str] | None = None) -> tuple[list[str], Budget]:
        """The rules named (all when none are) in the file's order, and the budget.

        Args:
            names: rule ids (``R1``) or names in ``aliases``.
            budget: the budget's name.
            aliases: each rule's name (``long_sequences``) -> its id.

        Raises:
            ConfigError: an unknown rule or budget, with the valid names.
        """
        aliases = aliases or {}
        names = [aliases.get(name, name) for name in names]
        unknown = [name for name in names if name not in self.rules]
        if unknown:
            named = f" (or by name: {', '.join(aliases)})" if aliases else ""
            raise ConfigError(f"unknown rule {', '.join(unknown)}; valid rules: {', '.join(self.rules)}{named} "
                              f"({self.path}); e.g. CLAIMS=\"R1 R3\".")
        if budget not in self.budgets:
            raise ConfigError(f"unknown budget '{budget}'; valid budgets: {', '.join(self.budgets)} ({self.path}).")
        wanted = set(names) or set(self.rules)
        return [name for name in self.rules if name in wanted], self.budgets[budget]


def _budget(name: str, entry: Mapping[str, Any], rules: Mapping[str, Callable[..., object]], path: Path) -> Budget:
    """One budget, its rule settings checked against the rules' functions."""
    where = f"{path}: budgets.{name}"
    try:
        budget = Budget(name=name, about=str(entry["about"]), seeds=int(entry["seeds"]),
                        minutes={key: float(value) for key, value in entry["minutes"].items()},
                        tasks=dict(entry["tasks"]), rules={key: dict(value) for key, value in entry["rules"].items()})
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ConfigError(f"{where}: needs about, seeds, minutes, tasks and rules ({error!r}); see the other "
                          "budgets for the shape.") from None
    if budget.seeds < 2:
        raise ConfigError(f"{where}.seeds={budget.seeds}: a verdict needs at least 2 seeds.")
    for rule, function in rules.items():
        if rule not in budget.rules:
            raise ConfigError(f"{where}.rules: no settings for {rule}; give them (see the other budgets).")
        taken = [parameter for parameter in inspect.signature(function).parameters if parameter != "ctx"]
        extra = sorted(set(budget.rules[rule]) - set(taken))
        missing = sorted(set(taken) - set(budget.rules[rule]))
        if extra or missing:
            raise ConfigError(f"{where}.rules.{rule}: unknown settings {extra}, missing {missing}; {rule} takes "
                              f"{', '.join(taken)}.")
    return budget


def load_claims(rules: Mapping[str, Callable[..., object]], path: Path | None = None) -> ClaimsConfig:
    """Read ``configs/claims.yaml`` (or ``path``) and check every budget's settings against ``rules``' functions.

    Args:
        rules: each rule's function by name; its parameters other than ``ctx`` (the rule's context) are the
            rule's settings.
        path: the file; default ``configs/claims.yaml``.

    Raises:
        ConfigError: a missing file, a rule without its text or function, a malformed budget.
    """
    path = path or configs_dir() / "claims.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: no claims config; restore configs/claims.yaml from git.")
    raw = yaml.safe_load(path.read_text()) or {}
    texts = {}
    for name, entry in (raw.get("rules") or {}).items():
        try:
            texts[name] = RuleText(**entry)
        except TypeError as error:
            raise ConfigError(f"{path}: rules.{name}: {error}; give rule, source, effect, predicts.") from None
        if texts[name].predicts not in ("above", "below"):
            raise ConfigError(f"{path}: rules.{name}.predicts={texts[name].predicts!r}: give above or below.")
    if set(texts) != set(rules):
        raise ConfigError(f"{path}: rules {sorted(texts)} differ from the rules gatelab runs {sorted(rules)}.")
    budgets = {name: _budget(name, entry, rules, path) for name, entry in (raw.get("budgets") or {}).items()}
    if not budgets:
        raise ConfigError(f"{path}: no budgets; give at least one under budgets:.")
    return ClaimsConfig(float(raw.get("confidence", 0.95)), float(raw.get("power", 0.8)), texts, budgets, path)
