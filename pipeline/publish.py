"""Publish a finished reproduction into the repository: figures, fit summary, provenance and
the top agent of every board, with its perfect-play check (no raw outputs).

    python -m pipeline.publish +experiment=cpu        # → figures.publish_dir (docs/results/cpu)

Writes `<publish_dir>/`: the figures' PNGs, `summary.json`/`summary.md`, `reproduction.json`
(host, code version, stage wall times of every invocation), `config.yaml` (the composed config)
and `agents/b<S>/{params.msgpack,meta.json}` (a few KB each: `load_player("…/agents/b4")`),
summarised with each agent's Elo and check in `agents.json`. The check is spec §5's protocol
(argmax moves, no root noise, as black against the exact solver) on boards the solver covers;
above them the top agent's distance to perfect play is not known and is reported as such.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from hex_env import solver
from pipeline.evaluate.players import black_wins_vs_solver
from pipeline.infra.config import Config, hydra_main, load, register_configs
from pipeline.infra.files import atomic_write_bytes, atomic_write_json
from pipeline.infra.layout import SNAPSHOT_META, SNAPSHOT_PARAMS, Layout
from pipeline.infra.runtime import configure_jax

CHECK_GAMES = 256


def top_agents(elo: pd.DataFrame, reference_nodes: int) -> pd.DataFrame:
    """Per board, the highest-rated snapshot at the reference node count with its training
    search (no test-time search change, no argmax variant)."""
    trained = elo["agent"].str.fullmatch(r".+/\d+@\d+") & (elo["test_nodes"] == reference_nodes)
    pool = elo[(elo["kind"] == "network") & trained]
    return pool.loc[pool.groupby("board_size")["elo"].idxmax()].sort_values("board_size")


def check_publishable(job: Config) -> None:
    """A destination is set and the reproduction has an Elo table and figures (ValueError)."""
    layout = Layout(job.results_dir)
    if not job.figures.publish_dir:
        raise ValueError("set figures.publish_dir (the cpu preset does)")
    if not (layout.figures / "summary.json").exists() or not layout.elo.exists():
        raise ValueError(f"no figures or Elo table under {layout.root}: reproduce first")


def publish(job: Config, config_yaml: str) -> dict:
    check_publishable(job)
    layout = Layout(job.results_dir)
    out = Path(job.figures.publish_dir)
    summary = layout.figures / "summary.json"
    for path in [*sorted(layout.figures.glob("*.png")), summary, layout.figures / "summary.md"]:
        atomic_write_bytes(out / path.name, path.read_bytes())
    if layout.reproduction.exists():
        atomic_write_bytes(out / "reproduction.json", layout.reproduction.read_bytes())
    atomic_write_bytes(out / "config.yaml", config_yaml.encode())

    agents = {}
    for _, row in top_agents(pd.read_parquet(layout.elo), job.eval.reference_nodes).iterrows():
        size = int(row["board_size"])
        snapshot = layout.run(row["run"]).snapshot(int(row["snapshot"]))
        target = out / "agents" / f"b{size}"
        for name in (SNAPSHOT_PARAMS, SNAPSHOT_META):
            atomic_write_bytes(target / name, (snapshot / name).read_bytes())
        solvable = solver.can_solve(size)
        wins = (
            black_wins_vs_solver(target, CHECK_GAMES, job.eval.reference_nodes)
            if solvable
            else None
        )
        agents[f"b{size}"] = {
            "agent": row["agent"],
            "elo": round(float(row["elo"]), 1),
            "elo_se": round(float(row["elo_se"]), 1),
            "anchor": row["anchor"],
            "train_flops_jones": float(row["train_flops_jones"]),
            "nodes": job.eval.reference_nodes,
            "black_wins_vs_solver": wins,
            "check": (
                f"{CHECK_GAMES} games as black vs the exact solver resisting once lost (the "
                "evaluation's perfect anchor), argmax, no root noise"
                if solvable
                else f"no exact solver for {size}x{size}: distance to perfect play unknown"
            ),
        }
    atomic_write_json(out / "agents.json", agents)
    return agents


@hydra_main
def main(cfg: DictConfig) -> None:
    job = load(cfg, check_publishable)
    configure_jax(job.compile_cache)
    agents = publish(job, OmegaConf.to_yaml(cfg, resolve=True))
    for board, a in agents.items():
        check = "" if a["black_wins_vs_solver"] is None else f", {a['black_wins_vs_solver']:.1%}"
        print(f"{board}: {a['agent']} Elo {a['elo']} ± {a['elo_se']}{check} vs the solver")
    print(f"published to {job.figures.publish_dir}")


if __name__ == "__main__":
    register_configs()
    main()
