"""Launchers: several workers on this machine, or a Slurm job array and the job that writes the verdict."""
