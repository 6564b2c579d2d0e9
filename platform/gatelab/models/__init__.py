"""The models layer: the cell registry, the parallel-scan min-cells and the shared backbone (whose shape,
``ModelConfig``, and the cells' checks live in ``gatelab.settings``, torch-free)."""

from __future__ import annotations

from gatelab.models.backbone import SequenceModel
from gatelab.models.cells import CELLS, HiddenState, detach_state, map_state, set_forget_bias
from gatelab.models.mincells import MinGRU, MinLSTM
from gatelab.settings import FORWARD_ONLY, ModelConfig, check_cell

__all__ = ["CELLS", "FORWARD_ONLY", "HiddenState", "MinGRU", "MinLSTM", "ModelConfig", "SequenceModel", "check_cell",
           "detach_state", "map_state", "set_forget_bias"]
