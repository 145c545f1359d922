"""A snapshot's raw network against the exact solver, ply by ply (boards ≤ 4×4).

    .venv/bin/python scripts/prior_vs_solver.py outputs/nodescale/runs/RUN/snapshots/01 ...

On `--positions` positions per ply reached by uniformly random play, for the positions where
the mover can still win, prints: the share of legal moves that win (the mass a uniform prior puts
on them), the prior's mass on winning moves, how often the prior's argmax is a winning move, and
how often the value head's sign matches the solved outcome (all live positions). This is what a
1-node agent plays on. Then each snapshot's 1-node agent under `--searches` (the prior, sampled;
with root noise where the search's paper evaluates with it) plays `--games` games per colour
against a uniformly random player: a direct check of where the Elo table puts it vs random.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import hex_env as he
from agents.network import HexNet
from agents.players import play_games, random_act, random_player
from agents.search import SearchConfig
from hex_env import solver
from pipeline.evaluate.players import load_player
from pipeline.infra.snapshot import load_snapshot


def random_positions(size: int, n: int, plies: int, key: jax.Array) -> list[he.HexState]:
    """Batches of `n` states after 0, 1, …, plies − 1 uniformly random moves."""
    states = jax.vmap(lambda _: he.init(size))(jnp.arange(n))
    out = []
    for k in jax.random.split(key, plies):
        out.append(states)
        states = jax.vmap(he.step)(states, random_act(k, states))
    return out


def probe(params, meta: dict, states: he.HexState, solved: jax.Array) -> dict:
    size = meta["board_size"]
    log_prior, value = HexNet(meta["width"], meta["depth"]).apply(
        params, jax.vmap(he.observe)(states)
    )
    cells = jnp.arange(size * size)
    # the prior is in the mover's frame: scatter it back to absolute cells
    absolute = jax.vmap(lambda s: jax.vmap(lambda a: he.to_absolute_action(s, a))(cells))(states)
    prior = jax.vmap(lambda idx, p: jnp.zeros(size * size).at[idx].set(p))(
        absolute, jnp.exp(log_prior)
    )
    wins = jax.vmap(lambda s: solver.winning_moves_mask(solved, s))(states)
    best = jnp.take_along_axis(absolute, jnp.argmax(log_prior, -1)[:, None], 1)[:, 0]
    live = ~np.asarray(states.terminated)
    can_win = np.asarray(wins.any(-1)) & live
    legal = np.asarray((states.board == 0).sum(-1))
    value_right = np.sign(np.asarray(value)) == np.where(np.asarray(wins.any(-1)), 1, -1)
    return {
        "can_win": can_win.mean(),
        "uniform": (np.asarray(wins.sum(-1)) / legal)[can_win].mean(),
        "prior": np.asarray((prior * wins).sum(-1))[can_win].mean(),
        "argmax_wins": np.asarray(jnp.take_along_axis(wins, best[:, None], 1)[:, 0])[
            can_win
        ].mean(),
        "value_sign": value_right[live].mean(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshots", nargs="+", help="snapshot directories")
    parser.add_argument("--positions", type=int, default=4096, help="random-play positions per ply")
    parser.add_argument("--plies", type=int, default=10)
    parser.add_argument("--games", type=int, default=1024, help="per colour, vs random")
    parser.add_argument("--searches", default="jones,puct,gumbel")
    args = parser.parse_args()
    metas = [(Path(d), *load_snapshot(d)) for d in args.snapshots]
    size = metas[0][2]["board_size"]
    if any(m["board_size"] != size for _, _, m in metas):
        parser.error("snapshots of one board size only")
    solved = jnp.asarray(solver.table(size))  # raises for boards the solver does not handle
    positions = random_positions(size, args.positions, args.plies, jax.random.PRNGKey(0))
    for directory, params, meta in metas:
        print(f"{directory} ({meta['train_flops_jones']:.1e} Jones FLOPs)")
        print("  ply  P(mover wins)  uniform  prior  argmax wins  value sign right")
        for ply, states in enumerate(positions):
            r = probe(params, meta, states, solved)
            print(
                f"  {ply:3d}  {r['can_win']:13.2f}  {r['uniform']:7.3f}  {r['prior']:5.3f}"
                f"  {r['argmax_wins']:11.2f}  {r['value_sign']:16.2f}"
            )
        for kind in args.searches.split(","):
            one = load_player(directory, nodes=1, search=SearchConfig(kind=kind, nodes=1))
            key_black, key_white = jax.random.split(jax.random.PRNGKey(1))
            black = play_games(one, random_player(), size, args.games, key_black).winner
            white = play_games(random_player(), one, size, args.games, key_white).winner
            as_black = float((np.asarray(black) == he.BLACK).mean())
            as_white = float((np.asarray(white) == he.WHITE).mean())
            se = np.sqrt(0.25 / (2 * args.games))
            print(
                f"  1-node {kind} vs random: {as_black:.3f} as black, {as_white:.3f} as white, "
                f"score {(as_black + as_white) / 2:.3f} ± {se:.3f}"
            )


if __name__ == "__main__":
    main()
