"""Evaluation: the agent pool, the batched match engine, Elo ratings and tables."""
