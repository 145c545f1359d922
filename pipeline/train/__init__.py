"""Training one agent: the jitted self-play + learner core, the run directory's files, the loop."""
