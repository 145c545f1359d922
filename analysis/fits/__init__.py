"""The fits: Jones's compute frontier, Epoch's S-curve, their bootstrap, synthetic tables."""
