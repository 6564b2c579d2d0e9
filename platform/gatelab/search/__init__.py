"""The search layer: the search space, study storage, the budget, the trial objective and the workers."""
