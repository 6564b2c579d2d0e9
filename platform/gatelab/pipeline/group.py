"""Search repeats: the whole search of one sweep's settings k times, each with its own TPE sampler seed, pooled in
one verdict."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace

from gatelab.errors import ConfigError
from gatelab.pipeline.conclude import conclude, conclude_unless_skipped
from gatelab.pipeline.sweep import REPEAT_SEED_OFFSET, OpenSweep, Sweep, never_ran, open_parent_run
from gatelab.report.tables import Report
from gatelab.search.context import SweepContext
from gatelab.settings import DEFAULT_SEEDS, Seeds
from gatelab.tracking import tags as tag
from gatelab.tracking.lifecycle import tracked
from gatelab.training.experiment import Experiment
from gatelab.training.task import describe_data_report

__all__ = ["SweepGroup"]


@dataclass(frozen=True)
class SweepGroup:
    """``repeats`` searches of ``base``'s settings, one after another in this process, pooled in one verdict.

    Repeat ``r`` is ``base`` with ``repeat=r`` (its own studies and parent run, the TPE sampler seed
    ``REPEAT_SEED_OFFSET + r``; repeat 0 is ``base`` itself); the group has a parent run of its own, id
    ``<base id>x<repeats>``. Its repeats never use ``base.launch``: they run here.

    Raises:
        ConfigError: ``repeats`` below 1, or a ``seed`` in the repeats' space.
    """

    base: Sweep
    repeats: int

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ConfigError(f"repeats={self.repeats}: the search runs at least once; give REPEATS=1 or more "
                              "(--repeats, default 1).")
        if not 0 <= self.base.experiment.seed < REPEAT_SEED_OFFSET:
            raise ConfigError(f"seed={self.base.experiment.seed}: with repeats the sweep's seed must lie in [0, "
                              f"{REPEAT_SEED_OFFSET}), below the repeats' sampler seeds; give a smaller SEED.")

    @property
    def id(self) -> str:
        return f"{self.base.base_id}x{self.repeats}"

    @property
    def experiment(self) -> Experiment:
        return self.base.experiment

    @property
    def cells(self) -> list[str]:
        return self.base.cells

    @property
    def budget(self) -> int:
        return self.base.budget

    @property
    def members(self) -> list[Sweep]:
        """Each search repeat, in order."""
        return [replace(self.base, repeat=index) for index in range(self.repeats)]

    def parent_run(self) -> str | None:
        """The group's parent run, if it ran in this store."""
        return self.base.tracker().find_parent(self.id)

    def run(self, seeds: Seeds = DEFAULT_SEEDS) -> Report | None:
        """Each repeat's search in turn, then the pooled verdict (``Sweep.run``)."""
        with self._opened(search=True) as (context, opened):
            return conclude_unless_skipped(context, opened, seeds, self.base.register, self.base.plots)

    def report(self, seeds: Seeds = DEFAULT_SEEDS) -> Report:
        """The pooled verdict made again, without running any trial (``Sweep.report``)."""
        if self.parent_run() is None:
            raise never_ran(self.id, self.experiment.task, self.base.store)
        with self._opened(search=False) as (context, opened):
            return conclude(context, opened, seeds, self.base.register, self.base.plots)

    @contextmanager
    def _opened(self, search: bool) -> Iterator[tuple[SweepContext, list[OpenSweep]]]:
        """Each repeat opened and (where ``search``) searched in turn, then the group's parent run: the group's
        context and the opened repeats; every parent run stays open until the block has ended."""
        with ExitStack() as stack:
            opened = []
            for member in self.members:
                member_open = member.open()
                stack.enter_context(tracked(member_open.tracker, member_open.parent))
                if search:
                    if self.base.progress:
                        print(f"gatelab: search repeat {member.repeat + 1} of {self.repeats} (sweep {member.id}, "
                              f"sampler seed {member.sampler_seed})", file=sys.stderr, flush=True)
                    if member.repeat == 0:  # every repeat reads the same data: said once
                        print(describe_data_report(member_open.data_report), end="", file=sys.stderr, flush=True)
                    member_open.work()
                member_open.tracker.set_tags(member_open.parent, {tag.VERDICT: f"group {self.id}"})
                opened.append(member_open)
            first = opened[0].context
            parent = open_parent_run(first.tracker, self.base, self.id, first.fingerprint, opened[0].data_report,
                                 {tag.REPEATS: str(self.repeats)})
            with tracked(first.tracker, parent):
                yield replace(first, sweep=self.id, parent=parent), opened
