"""`python -m analysis.report`: every figure and the summary of a results directory.

Runs the imported `analysis.report.figures.main`, not a `__main__` copy of it, so that
launchers which pickle the task (submitit) refer to importable functions."""

from analysis.report.figures import main
from pipeline.infra.config import register_configs

register_configs()
main()
