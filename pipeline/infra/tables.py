"""Evaluation result files: their columns, and atomic, locked writes (paths:
`pipeline.infra.layout`).

    eval/b<S>/matches.parquet             append-only game results, one row per played batch
    eval/b<S>/agents.parquet              one row per agent ever entered in the b<S> pool
    eval/b<S>/claims.json                 games claimed by running evaluations (claims.py)
    eval/b<S>/.lock                       fcntl lock around every read-modify-write
    eval/b<S>/elo.parquet, elo.parquet    Elo tables (`ELO_TABLE_COLUMNS`, `EXTRA_COLUMNS`),
                                          written by `pipeline.evaluate.elo_table`
    eval/b<S>/elo_cov.parquet             the covariance of that fit (`read_covariances`)

Every file is written to a temporary sibling and renamed into place, so a reader sees the old or
the new file, never half of one; concurrent evaluation jobs on one board serialise their
read-modify-write through `locked(board directory)`. Parquet only, no pickles.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from pipeline.infra.files import CorruptFileError, atomic_write_bytes
from pipeline.infra.layout import Layout

MATCH_COLUMNS = (
    "board_size",  # b of the b×b board
    "black",  # agent id of the first mover
    "white",  # agent id of the second mover
    "games",  # games in this row (= black_wins + white_wins; Hex has no draws)
    "black_wins",
    "white_wins",
    "black_nodes",  # network evaluations per move of black (<NA> for solver/random anchors)
    "white_nodes",
    # number of the row's first game among the pair's games (their random streams follow it);
    # <NA> in rows recorded before claims: numbered in file order (pipeline.evaluate.claims)
    "game_start",
)

AGENT_COLUMNS = (
    "agent",  # id: "<run>/<snapshot NN>@<nodes>[/argmax]", "perfect", "eps-perfect-<ε>", "random"
    "kind",  # network | perfect | eps_perfect | random
    "run",
    "snapshot",  # snapshot index within its run
    "snapshot_dir",
    "board_size",
    "width",
    "depth",
    "search",  # search.kind of the snapshot (grill | puct | gumbel)
    "test_nodes",  # network evaluations per move at test time, root included
    "greedy",  # moves are the argmax of the search policy instead of samples from it
    "eps",  # probability of a random move (ε-perfect anchors; 0 perfect, 1 random)
    "params",  # weights + biases (Jones's count)
    "train_flops_jones",
    "train_flops_standard",
    "test_flops_jones",  # test_nodes × forward FLOPs, Jones convention, per move
    "test_flops_standard",  # test_nodes × forward FLOPs, 2 per multiply-accumulate, per move
    # where the snapshot was trained (meta.json, `pipeline.infra.provenance.device_provenance`);
    # <NA> for anchors, for snapshots written before it was recorded and in files from before it
    "train_backend",  # jax.default_backend(): cpu | gpu | tpu
    "train_device_kind",  # jax.devices()[0].device_kind, e.g. "NVIDIA H200"
    "train_jax_version",
)

ELO_TABLE_COLUMNS = (  # leading columns of the Elo tables; then elo_model, EXTRA_COLUMNS
    "agent",
    "run",
    "snapshot",
    "board_size",
    "width",
    "depth",
    "search",
    "test_nodes",
    "params",
    "train_flops_jones",
    "train_flops_standard",
    "test_flops_jones",
    "test_flops_standard",
    "elo",
    "elo_se",
    "anchor",
)
TRAIN_DEVICE_COLUMNS = ("train_backend", "train_device_kind", "train_jax_version")
EXTRA_COLUMNS = ("kind", "greedy", "eps", "games", *TRAIN_DEVICE_COLUMNS)
PERFECT = "perfect"
PERFECT_ANCHOR = f"{PERFECT}=0"  # `anchor` column of a table rated relative to the solver

_INT_COLUMNS = ("board_size", "snapshot", "width", "depth", "test_nodes", "params")
_FLOAT_COLUMNS = (
    "eps",
    "train_flops_jones",
    "train_flops_standard",
    "test_flops_jones",
    "test_flops_standard",
)


@contextlib.contextmanager
def locked(directory: str | Path) -> Iterator[None]:
    """Exclusive `fcntl.flock` on `directory/.lock` (created if missing) for the block."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_parquet(path: str | Path, df: pd.DataFrame) -> None:
    """Write `df` (no index) to `path` atomically: temporary file in the same directory + rename."""
    buffer = io.BytesIO()
    df.to_parquet(buffer, index=False)
    atomic_write_bytes(Path(path), buffer.getvalue())


def empty_matches() -> pd.DataFrame:
    return normalise_matches(pd.DataFrame({c: [] for c in MATCH_COLUMNS}))


def normalise_matches(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reindex(columns=list(MATCH_COLUMNS))  # game_start: <NA> in files from before it
    for column in ("board_size", "games", "black_wins", "white_wins"):
        df[column] = df[column].astype("int64")
    for column in ("black_nodes", "white_nodes", "game_start"):
        df[column] = df[column].astype("Int64")
    df["black"] = df["black"].astype(str)
    df["white"] = df["white"].astype(str)
    return df.reset_index(drop=True)


def _read_parquet(path: Path, normalise, advice: str) -> pd.DataFrame:
    """`normalise(pd.read_parquet(path))`; a damaged file raises a one-line `CorruptFileError`."""
    try:
        return normalise(pd.read_parquet(path))
    except (PermissionError, FileNotFoundError):
        raise
    except (OSError, ValueError, KeyError, TypeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        reason = reason.split("': ", 1)[-1]  # pyarrow repeats the path first
        raise CorruptFileError(f"corrupt parquet {path} ({reason[:120]}): {advice}") from None


def read_matches(results_dir: str | Path, size: int) -> pd.DataFrame:
    """Every recorded game batch of board `size` (empty frame with the columns if none)."""
    path = Layout(results_dir).board(size).matches
    if not path.exists():
        return empty_matches()
    advice = "restore it from a backup, or move it aside to replay every game"
    return _read_parquet(path, normalise_matches, advice)


def append_matches(results_dir: str | Path, size: int, rows: pd.DataFrame) -> None:
    """Append `rows` to the board's match file under its lock (read, concatenate, replace)."""
    with locked(Layout(results_dir).board(size).dir):
        append_matches_unlocked(results_dir, size, rows)


def append_matches_unlocked(results_dir: str | Path, size: int, rows: pd.DataFrame) -> None:
    """`append_matches` for a caller that already holds the board's lock."""
    if rows.empty:
        return
    rows = normalise_matches(rows)
    old = read_matches(results_dir, size)
    merged = rows if old.empty else pd.concat([old, rows], ignore_index=True)
    write_parquet(Layout(results_dir).board(size).matches, merged)


def games_played(matches: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Games recorded per ordered (black, white) pair."""
    if matches.empty:
        return {}
    totals = matches.groupby(["black", "white"])["games"].sum()
    return {(str(b), str(w)): int(n) for (b, w), n in totals.items()}


def normalise_agents(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reindex(columns=list(AGENT_COLUMNS)).copy()
    for column in _INT_COLUMNS:
        df[column] = pd.to_numeric(df[column]).astype("Int64")
    for column in _FLOAT_COLUMNS:
        df[column] = pd.to_numeric(df[column]).astype("float64")
    df["greedy"] = df["greedy"].astype("boolean")
    for column in ("agent", "kind", "run", "snapshot_dir", "search", *TRAIN_DEVICE_COLUMNS):
        df[column] = df[column].astype("string")
    return df.reset_index(drop=True)


def read_agents(results_dir: str | Path, size: int) -> pd.DataFrame:
    path = Layout(results_dir).board(size).agents
    if not path.exists():
        return normalise_agents(pd.DataFrame(columns=list(AGENT_COLUMNS)))
    advice = "delete it and rerun the evaluation, which records the pool again"
    return _read_parquet(path, normalise_agents, advice)


def merge_agents(results_dir: str | Path, size: int, agents: pd.DataFrame) -> pd.DataFrame:
    """Add `agents` to the board's agents table (new rows win on equal ids) under its lock;
    agents recorded earlier but absent now are kept, so their games stay interpretable."""
    agents = normalise_agents(agents)
    with locked(Layout(results_dir).board(size).dir):
        old = read_agents(results_dir, size)
        kept = old[~old["agent"].isin(agents["agent"])]
        merged = agents if kept.empty else pd.concat([kept, agents], ignore_index=True)
        merged = normalise_agents(merged.sort_values("agent", kind="stable"))
        write_parquet(Layout(results_dir).board(size).agents, merged)
    return merged


def read_covariances(results_dir: str | Path) -> dict[int, pd.DataFrame]:
    """Per evaluated board, the covariance of its Elo fit (agents × agents, Elo²) as
    `pipeline.evaluate.elo_table.build` wrote it; boards fitted before `build` wrote covariances
    are left out."""
    layout = Layout(results_dir)
    paths = {size: layout.board(size).elo_cov for size in layout.evaluated_boards()}
    return {s: pd.read_parquet(p).set_index("agent") for s, p in paths.items() if p.exists()}
