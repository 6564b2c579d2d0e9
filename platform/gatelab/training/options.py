"""The light face of a task: its init arguments and their checks, without its data or model code.

A task's options class (a ``TaskOptions`` subclass, e.g. ``tasks.fraud.options.FraudOptions``) holds the
``__init__`` its DataModule inherits: the signature jsonargparse reads and the checks that raise
``ConfigError``. It imports no torch, Lightning or data library heavier than pandas, so that a config is
checked against it in well under a second (``gatelab.training.config.check_options``) before the DataModule's
own module is imported. Its ``__init__`` ends in a cooperative ``super().__init__()``.

A task package names its options classes by DataModule in ``OPTIONS`` (``{"FraudDataModule": FraudOptions}``)
and exports its DataModule lazily.
"""

from __future__ import annotations

__all__ = ["TaskOptions"]


class TaskOptions:
    """The base of every task's options class, and so of every ``SequenceDataModule``."""
