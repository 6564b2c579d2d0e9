"""The models layer: the cell registry, the parallel-scan min-cells and the shared backbone."""

from __future__ import annotations

from gatelab.models.backbone import ModelConfig, SequenceModel
from gatelab.models.cells import CELLS, FORWARD_ONLY, HiddenState, check_cell, detach_state, map_state, set_forget_bias
from gatelab.models.mincells import MinGRU, MinLSTM

__all__ = ["CELLS", "FORWARD_ONLY", "HiddenState", "MinGRU", "MinLSTM", "ModelConfig", "SequenceModel", "check_cell",
           "detach_state", "map_state", "set_forget_bias"]
