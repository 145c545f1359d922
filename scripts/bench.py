"""Self-play and search throughput, beside the naive mctx baseline in the same run.

Two measurements, each over a grid of board size S, model width×depth, batch B and nodes N
(network evaluations per move, root included):

  * `search`: B games from the empty board play `--moves` moves inside one jitted `lax.scan`
    (search → step → auto-reset). Node evaluations/s = B·moves·N / wall time. Three
    implementations take turns run by run: hexscale's Gumbel search and the naive baseline
    (`shared/baselines/naive_selfplay.py`: `mctx.gumbel_muzero_policy`, flood-fill win check, plain
    MLP) run the same algorithm with the same settings, so their ratio is the fair one; hexscale's
    Jones search (the training default) and Grill search (the corrected λ) are timed beside them.
  * `train`: `pipeline.train.core.make_iteration`, the whole jitted self-play + learner call
    (rollout_steps moves in B envs, then B·rollout_steps samples trained once each, learner
    batch B), with Jones search unless `--train-kinds` says otherwise.
    Reports samples/s, node evaluations/s and train FLOPs/s in both conventions of
    `pipeline.train.core.flops_per_sample` (Jones: N × weights+biases per sample; standard: 2 per
    MAC over the N self-play forwards + learner forward/backward + bootstrap).

Compilation is done before timing and reported apart (`compile_s`). Every number is the median
over `--repeats` timed calls; implementations alternate call by call so load changes hit them alike.
Before timing, hexscale's Gumbel search is checked against `mctx.gumbel_muzero_policy` on the same
roots and key (the same action and policy, exactly); the script exits with an error otherwise.

usage: python scripts/bench.py                # CPU grid, ~10 min on 2 cores
       python scripts/bench.py --quick        # < 2 min
       python scripts/bench.py --what search --sizes 9 11 --models 512x4 --batches 4096 \\
           --nodes 64 256                     # GPU-sized grid: every axis is a flag
prints one JSON line per measurement, then a table.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import mctx
import optax

import hex_env as he
from agents.network import HexNet, forward_flops
from agents.search import SearchConfig, make_recurrent_fn, make_root_fn, make_search_fn
from pipeline.infra.config import BoardConfig, Config, ModelConfig, TrainSettings
from pipeline.train.core import flops_per_sample, init_carry, make_iteration

NAIVE_PATH = Path(__file__).resolve().parents[2] / "shared" / "baselines" / "naive_selfplay.py"

# (size, width, depth, batch, nodes): the CPU grid. The two targets of the speed issue are
# (5, 64, 2, 1024, 64) and (9, 128, 2, 256, 64).
FULL_SEARCH = [
    (3, 16, 2, 1024, 16),
    (5, 64, 2, 1024, 64),
    (9, 128, 2, 256, 64),
    (11, 64, 2, 256, 64),
    (5, 16, 2, 256, 256),
]
FULL_TRAIN = [(3, 16, 2, 256, 16), (5, 64, 2, 1024, 64), (9, 128, 2, 256, 64)]
QUICK_SEARCH = [(5, 16, 2, 256, 16)]
QUICK_TRAIN = [(3, 16, 2, 256, 16)]


def load_naive():
    spec = importlib.util.spec_from_file_location("naive_selfplay", NAIVE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ours_search_runner(kind: str, size: int, width: int, depth: int, batch: int, nodes: int,
                       moves: int):  # fmt: skip
    """`run(key)`: `moves` self-play moves of hexscale's search in `batch` fresh games."""
    net = HexNet(width, depth)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, size, size, 2)))
    search = make_search_fn(net.apply, SearchConfig(kind=kind, nodes=nodes), size)

    @jax.jit
    def run(params, key):
        envs = jax.vmap(lambda _: he.init(size))(jnp.arange(batch))

        def move(envs, move_key):
            out = search(params, move_key, envs, explore=True)
            return he.reset_where_done(jax.vmap(he.step)(envs, out.action)), None

        return jax.lax.scan(move, envs, jax.random.split(key, moves))[0].board

    return lambda key: run(params, key)


def naive_search_runner(naive, size: int, width: int, depth: int, batch: int, nodes: int,
                        moves: int):  # fmt: skip
    """The same driver around the naive baseline's `move` (Gumbel, flood fill, plain MLP)."""
    net, observe, naive_move = naive.build(size, width, depth)
    games = dict(
        board=jnp.zeros((batch, size * size), jnp.int8),
        player=jnp.zeros((batch,), jnp.int8),
        done=jnp.zeros((batch,), bool),
    )
    params = net.init(jax.random.PRNGKey(0), observe(games["board"], games["player"]))

    @jax.jit
    def run(params, key):
        step = lambda g, move_key: (naive_move(params, g, move_key, nodes), None)
        return jax.lax.scan(step, games, jax.random.split(key, moves))[0]["board"]

    return lambda key: run(params, key)


def check_gumbel_matches_mctx(size: int = 5, batch: int = 64, nodes: int = 16) -> None:
    """hexscale's Gumbel search must give mctx.gumbel_muzero_policy's action and policy exactly."""
    net = HexNet(16, 2)
    params = net.init(jax.random.PRNGKey(1), jnp.zeros((1, size, size, 2)))
    params = jax.tree.map(
        lambda x: x + 0.3 * jax.random.normal(jax.random.PRNGKey(2), x.shape), params
    )
    envs = jax.vmap(lambda _: he.init(size))(jnp.arange(batch))
    cells = jax.random.permutation(jax.random.PRNGKey(3), size * size)[:3]
    envs = jax.vmap(lambda s, k: he.step(he.step(s, cells[k % 3]), cells[(k + 1) % 3]))(
        envs, jnp.arange(batch)
    )
    cfg = SearchConfig(kind="gumbel", nodes=nodes)
    key = jax.random.PRNGKey(4)
    ours = jax.jit(lambda p, e: make_search_fn(net.apply, cfg, size)(p, key, e, explore=True))(
        params, envs
    )

    @jax.jit
    def reference(params, envs):
        _, search_key, _ = jax.random.split(key, 3)
        root, legal = make_root_fn(net.apply)(params, envs)
        out = mctx.gumbel_muzero_policy(
            params, search_key, root, make_recurrent_fn(net.apply), nodes - 1,
            invalid_actions=~legal, max_depth=size * size, max_num_considered_actions=16,
        )  # fmt: skip
        policy = jnp.where(legal, out.action_weights, 0.0)
        policy = policy / jnp.maximum(policy.sum(-1, keepdims=True), 1e-12)
        return jax.vmap(he.to_absolute_action)(envs, out.action), policy

    action, policy = reference(params, envs)
    if not (jnp.array_equal(action, ours.action) and jnp.array_equal(policy, ours.policy)):
        sys.exit("hexscale's Gumbel search differs from mctx.gumbel_muzero_policy: not timing")
    print(f"check: Gumbel search == mctx.gumbel_muzero_policy on {batch} {size}x{size} roots")


def time_interleaved(runners: dict, repeats: int) -> tuple[dict, dict]:
    """Compile each runner, then time them in turn; returns (median wall s, compile s)."""
    compile_s = {}
    for name, run in runners.items():
        start = time.perf_counter()
        jax.block_until_ready(run(jax.random.PRNGKey(0)))
        compile_s[name] = time.perf_counter() - start
    walls = {name: [] for name in runners}
    for rep in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            jax.block_until_ready(run(jax.random.PRNGKey(rep + 1)))
            walls[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in walls.items()}, compile_s


def load() -> float:
    return round(os.getloadavg()[0], 1)


def bench_search(grid, kinds, moves, repeats, naive, emit):
    for size, width, depth, batch, nodes in grid:
        runners = {}
        if naive is not None:
            runners["naive"] = naive_search_runner(naive, size, width, depth, batch, nodes, moves)
        for kind in kinds:
            runners[kind] = ours_search_runner(kind, size, width, depth, batch, nodes, moves)
        wall, compile_s = time_interleaved(runners, repeats)
        evals = batch * moves * nodes
        for name, w in wall.items():
            row = dict(
                bench="search", impl="naive" if name == "naive" else "hexscale",
                kind="gumbel" if name == "naive" else name, size=size, width=width, depth=depth,
                batch=batch, nodes=nodes, moves=moves, repeats=repeats, wall_s=round(w, 4),
                compile_s=round(compile_s[name], 1), node_evals_per_s=round(evals / w, 1),
                moves_per_s=round(batch * moves / w, 1), load=load(),
            )  # fmt: skip
            if "naive" in wall:
                row["ratio_vs_naive_gumbel"] = round(wall["naive"] / w, 2)
            emit(row)


def bench_train(grid, kinds, rollout_steps, repeats, emit):
    for size, width, depth, batch, nodes in grid:
        runners, cfgs = {}, {}
        for kind in kinds:
            cfg = Config(
                board=BoardConfig(size=size),
                model=ModelConfig(width=width, depth=depth),
                search=SearchConfig(kind=kind, nodes=nodes),
                train=TrainSettings(n_envs=batch, batch_size=batch, rollout_steps=rollout_steps),
                run_name="bench",
            )
            optimizer = optax.adam(cfg.train.lr)
            iteration = make_iteration(cfg, optimizer)
            carry = init_carry(cfg, optimizer)
            runners[kind] = lambda key, it=iteration, c=carry: it(c.replace(key=key))[1]
            cfgs[kind] = cfg
        wall, compile_s = time_interleaved(runners, repeats)
        samples = batch * rollout_steps
        for kind, w in wall.items():
            jones, standard = flops_per_sample(cfgs[kind])
            emit(dict(
                bench="train", impl="hexscale", kind=kind, size=size, width=width, depth=depth,
                batch=batch, nodes=nodes, rollout_steps=rollout_steps, repeats=repeats,
                wall_s=round(w, 4), compile_s=round(compile_s[kind], 1),
                samples_per_s=round(samples / w, 1),
                node_evals_per_s=round(samples * nodes / w, 1),
                train_flops_jones_per_s=float(f"{samples * jones / w:.4g}"),
                train_flops_standard_per_s=float(f"{samples * standard / w:.4g}"),
                forward_flops_standard=forward_flops(size, width, depth, "standard"),
                load=load(),
            ))  # fmt: skip


def parse_grid(args, default):
    """The default grid, or the product of the axes given as flags (missing axes from default)."""
    if not any([args.sizes, args.models, args.batches, args.nodes]):
        return default
    sizes = args.sizes or sorted({g[0] for g in default})
    models = [tuple(map(int, m.split("x"))) for m in args.models] or sorted(
        {(g[1], g[2]) for g in default}
    )
    batches = args.batches or sorted({g[3] for g in default})
    nodes = args.nodes or sorted({g[4] for g in default})
    return [(s, w, d, b, n) for s, (w, d), b, n in itertools.product(sizes, models, batches, nodes)]


def print_table(rows):
    search = [r for r in rows if r["bench"] == "search"]
    if search:
        print("\n| size | model | batch | nodes | naive Gumbel evals/s "
              "| hexscale Gumbel evals/s | ratio | hexscale Jones evals/s | ratio "
              "| hexscale Grill evals/s | ratio |")  # fmt: skip
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        key = lambda r: (r["size"], r["width"], r["depth"], r["batch"], r["nodes"])
        for k, group in itertools.groupby(search, key):
            by = {r["kind"] if r["impl"] == "hexscale" else "naive": r for r in group}
            cells = []
            for name in ("naive", "gumbel", "jones", "grill"):
                r = by.get(name)
                cells.append(f"{r['node_evals_per_s']:,.0f}" if r else "–")
                if name != "naive":
                    ratio = r.get("ratio_vs_naive_gumbel") if r else None
                    cells.append(f"{ratio:.2f}" if ratio else "–")
            print(f"| {k[0]} | {k[1]}×{k[2]} | {k[3]} | {k[4]} | " + " | ".join(cells) + " |")
    train = [r for r in rows if r["bench"] == "train"]
    if train:
        print("\n| size | model | envs=batch | nodes | kind | samples/s | node evals/s "
              "| train FLOP/s (Jones) | train FLOP/s (standard) |")  # fmt: skip
        print("|---:|---:|---:|---:|:--|---:|---:|---:|---:|")
        for r in train:
            flops = f"{r['train_flops_jones_per_s']:.3g} | {r['train_flops_standard_per_s']:.3g}"
            print(f"| {r['size']} | {r['width']}×{r['depth']} | {r['batch']} | {r['nodes']} | "
                  f"{r['kind']} | {r['samples_per_s']:,.0f} | {r['node_evals_per_s']:,.0f} | "
                  f"{flops} |")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="small grid, < 2 min on a 2-core CPU")
    ap.add_argument("--what", nargs="+", default=["search", "train"], choices=["search", "train"])
    ap.add_argument("--sizes", nargs="+", type=int, help="board sides, e.g. 3 5 9 11")
    ap.add_argument("--models", nargs="+", help="width x depth, e.g. 16x2 64x2 512x4")
    ap.add_argument("--batches", nargs="+", type=int, help="games in parallel (= learner batch)")
    ap.add_argument(
        "--nodes", nargs="+", type=int, help="network evaluations per move, e.g. 16 64 256"
    )
    kinds = ["gumbel", "jones", "grill", "puct"]
    ap.add_argument("--kinds", nargs="+", default=["gumbel", "jones", "grill"], choices=kinds)
    ap.add_argument("--train-kinds", nargs="+", default=["jones"], choices=kinds)
    ap.add_argument("--moves", type=int, default=2, help="moves per timed search call")
    ap.add_argument("--rollout-steps", type=int, default=16, help="self-play steps per train call")
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per implementation")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    ap.add_argument("--out", type=Path, help="also append the JSON lines to this file")
    args = ap.parse_args()
    if args.quick:
        args.moves, args.rollout_steps = min(args.moves, 2), min(args.rollout_steps, 4)
        args.repeats = min(args.repeats, 3)

    rows = []
    out = args.out.open("a") if args.out else None

    def emit(row):
        machine = platform.processor() or platform.machine()
        row = dict(row, backend=jax.default_backend(), jax=jax.__version__, cpus=os.cpu_count())
        row["machine"] = machine
        rows.append(row)
        line = json.dumps(row)
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()

    start = time.perf_counter()
    if "search" in args.what:
        naive = None if args.no_naive else load_naive()
        if "gumbel" in args.kinds:
            check_gumbel_matches_mctx()
        grid = parse_grid(args, QUICK_SEARCH if args.quick else FULL_SEARCH)
        bench_search(grid, args.kinds, args.moves, args.repeats, naive, emit)
    if "train" in args.what:
        grid = parse_grid(args, QUICK_TRAIN if args.quick else FULL_TRAIN)
        bench_train(grid, args.train_kinds, args.rollout_steps, args.repeats, emit)
    print_table(rows)
    print(f"\ntotal {time.perf_counter() - start:.0f} s, load {load()}")


if __name__ == "__main__":
    main()
