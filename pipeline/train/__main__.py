"""`python -m pipeline.train`: one training run.

Runs the imported `pipeline.train.loop.main`, not a `__main__` copy of it, so that launchers which
pickle the task (submitit) refer to importable functions."""

from pipeline.infra.config import register_configs
from pipeline.train.loop import main

register_configs()
main()
