"""`python -m pipeline.evaluate`: one board's evaluation.

Runs the imported `pipeline.evaluate.run.main`, not a `__main__` copy of it, so that launchers which
pickle the task (submitit) refer to importable functions."""

from pipeline.evaluate.run import main
from pipeline.infra.config import register_configs

register_configs()
main()
