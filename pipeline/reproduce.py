"""`scripts/reproduce.sh` entry point: runs every stage of the reproduction that exists so far."""

import sys
import time

from hex_env import solver


def main(preset: str) -> None:
    print(f"hexscale reproduction, preset {preset!r}")
    for size in (2, 3, 4):
        start = time.perf_counter()
        wins, moves = solver.solve(size, [])
        print(
            f"  solver {size}x{size}: first player wins={wins}, winning openings {moves} "
            f"({time.perf_counter() - start:.1f} s)"
        )
    print("training, evaluation and figures are not built yet (see README 'Status').")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "smoke")
