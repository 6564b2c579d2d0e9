"""A small real fraud config shared by tests: simulated transactions split into two prequential folds."""

PREQUENTIAL = """
data:
  init_args:
    source:
      class_path: tasks.fraud.SimulatedSource
      init_args: {n_customers: 200, n_terminals: 400, n_days: 44, seed: 1}
    split:
      class_path: tasks.fraud.PrequentialSplit
      init_args: {warmup_days: 14, train_days: 5, delay_days: 3, val_days: 4, test_days: 4, folds: 2}
"""
"""The data part of a config (``data.init_args``), which a test continues with its own lines."""
