"""The sweep: open -> search -> select -> decide -> report.

One Optuna study per cell, the same space, budget, seeds and data; every run tracked in MLflow under
the sweep's parent run. ``Sweep`` holds what a sweep is (frozen); ``Sweep.open`` checks the stores and the
data and returns the ``OpenSweep`` (store, tracker, parent run, studies) that the stages work on. The stages
live in their layers and receive a ``SweepContext`` or explicit arguments, never the sweep: the trials in
``search``, the retraining (and ``seeds=auto``'s rounds) and the side-by-side timing in ``selection``, the
decision in ``verdict``, the report in ``report``; ``conclude`` runs them in order.

With ``repeats`` k > 1 the whole search runs k times (a ``SweepGroup``), each repeat a sweep of its own (its
studies, its parent run) differing only in the TPE sampler's seed; the group (id ``<sweep id>x<k>``, a parent run
of its own) pools each cell's best configuration of every repeat, retrained on the same selection seeds.
"""

from __future__ import annotations

from gatelab.pipeline.group import SweepGroup
from gatelab.pipeline.stored import stored_sweep
from gatelab.pipeline.sweep import REPEAT_SEED_OFFSET, OpenSweep, Sweep, sweep_id
from gatelab.settings import DEFAULT_SEEDS

__all__ = ["DEFAULT_SEEDS", "REPEAT_SEED_OFFSET", "OpenSweep", "Sweep", "SweepGroup", "stored_sweep", "sweep_id"]
