"""Launchers: several workers on this machine, or a Slurm job array and the job that writes the verdict; and the
servers the CLI starts (``services``: the MLflow UI, optuna-dashboard, the champion's scoring server).
"""
