"""Colour-symmetrised Bradley–Terry Elo from pairwise Hex results (hex_experiments.md §5).

One strength per agent, plus optionally one first-mover advantage shared by every game:
P(black wins) = sigmoid(r_black − r_white + h). Fitted by penalised maximum likelihood with
pseudo-counts; ratings and standard errors are reported in Elo (natural units × 400/ln 10).
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import expit, log_expit

__all__ = [
    "ELO_PER_NAT",
    "EloFit",
    "fit_elo",
    "load_mohex_ladder",
    "suggest_pairs",
    "win_probability",
]

ELO_PER_NAT = 400 / math.log(10)

_COLUMNS = ("black", "white", "black_wins", "white_wins")


@dataclass(frozen=True)
class EloFit:
    """Result of `fit_elo`; every rating-like field is in Elo."""

    ratings: pd.Series  # [A] Elo, index = agent id, sorted best first
    se: pd.Series  # [A] Elo standard error relative to the anchor (0 for the anchor)
    colour_advantage: float  # Elo added to black's rating in every game (0 if not fitted)
    anchor: str  # "top=0" or "agent:<id>=0"
    log_likelihood: float  # of the observed games at the fit, pseudo-counts excluded
    n_games: int  # observed games, pseudo-counts excluded

    def table(self) -> pd.DataFrame:
        """Ratings as a DataFrame with columns agent, elo, elo_se (best first)."""
        return pd.DataFrame(
            {
                "agent": self.ratings.index.to_numpy(),
                "elo": self.ratings.to_numpy(),
                "elo_se": self.se.reindex(self.ratings.index).to_numpy(),
            }
        )


def win_probability(elo_diff):
    """Expected score of a player `elo_diff` Elo above its opponent (scalar or array)."""
    return expit(np.asarray(elo_diff, dtype=float) / ELO_PER_NAT)


def _aggregate(matches: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _COLUMNS if c not in matches.columns]
    if missing:
        raise ValueError(f"matches is missing columns {missing}; need {list(_COLUMNS)}")
    df = matches.loc[:, list(_COLUMNS)].copy()
    df["black"] = df["black"].astype(str)
    df["white"] = df["white"].astype(str)
    counts = df[["black_wins", "white_wins"]].to_numpy(dtype=float)
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError("black_wins and white_wins must be finite and non-negative")
    if "games" in matches.columns and not np.allclose(
        matches["games"].to_numpy(dtype=float), counts.sum(axis=1)
    ):
        raise ValueError("games column differs from black_wins + white_wins")
    df = df.groupby(["black", "white"], as_index=False, sort=True)[
        ["black_wins", "white_wins"]
    ].sum()
    df = df[df["black_wins"] + df["white_wins"] > 0]
    if df.empty:
        raise ValueError("matches holds no games")
    return df


def _with_pseudo_counts(
    b: np.ndarray, w: np.ndarray, wins_b: np.ndarray, n: np.ndarray, pw: float, pg: float
):
    # Every unordered pair that met gets pg games, pg/2 in each colour pairing, of which black
    # wins the fraction pw/pg; both colourings get them even if only one was played, so the
    # prior is symmetric between the two agents and each of them is credited pg/2 wins.
    lo, hi = np.minimum(b, w), np.maximum(b, w)
    pairs = np.unique(np.stack([lo, hi], axis=1)[lo != hi], axis=0)
    pb = np.concatenate([pairs[:, 0], pairs[:, 1]])
    pw_ = np.concatenate([pairs[:, 1], pairs[:, 0]])
    m = len(pb)
    return (
        np.concatenate([b, pb]),
        np.concatenate([w, pw_]),
        np.concatenate([wins_b, np.full(m, pw / 2)]),
        np.concatenate([n, np.full(m, pg / 2)]),
    )


def fit_elo(
    matches: pd.DataFrame,
    *,
    anchor: str | None = None,
    colour_advantage: bool = True,
    pseudo_wins: float = 1.0,
    pseudo_games: float = 2.0,
) -> EloFit:
    """Fit colour-symmetrised Bradley–Terry Elo ratings by maximum likelihood.

    `matches` has columns black, white (agent ids), black_wins, white_wins (optional games =
    their sum); repeated (black, white) rows are summed. Model: P(black wins) =
    sigmoid(r_black − r_white + h), h a single first-mover advantage fitted only when
    `colour_advantage` (else h = 0, and only each pair's total score matters). Self-play rows
    (black == white, as in some MoHex ladders) inform h only.

    Pseudo-counts (Jones 2021): every pair of agents that played gets `pseudo_games` extra games,
    half with each agent as black, black winning `pseudo_wins / pseudo_games` of them. The
    defaults (1, 2) give half a win to each side of each colour pairing, i.e. per pair +2 games
    and +1 win for each agent, which keeps the estimate finite when one side wins every game.
    The prior pulls ratings together: by a few per cent of the spread when most pairs are
    lopsided and there are only ~100 games per pair, about 1% at Jones's 1,024. With
    pseudo_games=0, across every split of the pool in two each side must have won a game against
    the other (a strongly connected win graph), else there is no finite MLE.

    Anchor: None puts the top-rated agent at 0 (Jones); an agent id puts that agent at 0. The
    standard errors come from the inverse observed Fisher information (the analytic Hessian of
    the penalised log-likelihood) and are those of r_i − r_anchor, so the anchor has se 0.

    Raises ValueError on missing columns, negative counts, an unknown anchor, a comparison
    graph that is not connected (ratings of separate components are not comparable), or, without
    pseudo-counts, a win graph that is not strongly connected.
    """
    if not 0 <= pseudo_wins <= pseudo_games:
        raise ValueError("need 0 <= pseudo_wins <= pseudo_games")
    df = _aggregate(matches)
    agents = np.unique(np.concatenate([df["black"].to_numpy(), df["white"].to_numpy()]))
    if anchor is not None and anchor not in set(agents):
        raise ValueError(f"anchor {anchor!r} is not an agent in matches")
    n_agents = len(agents)
    b_obs = np.searchsorted(agents, df["black"].to_numpy())
    w_obs = np.searchsorted(agents, df["white"].to_numpy())
    wins_obs = df["black_wins"].to_numpy(dtype=float)
    n_obs = wins_obs + df["white_wins"].to_numpy(dtype=float)

    graph = coo_matrix((np.ones(len(b_obs)), (b_obs, w_obs)), shape=(n_agents, n_agents))
    n_components, labels = connected_components(graph, directed=False)
    if n_components > 1:
        sizes = np.bincount(labels)
        raise ValueError(
            f"comparison graph has {n_components} disconnected components (sizes "
            f"{sorted(sizes.tolist(), reverse=True)}); ratings across them are undefined"
        )
    if n_agents < 2:
        raise ValueError("need at least two agents")
    if pseudo_games == 0:
        loser, winner = np.concatenate([w_obs, b_obs]), np.concatenate([b_obs, w_obs])
        beat = np.concatenate([wins_obs, n_obs - wins_obs]) > 0
        wins_graph = coo_matrix(
            (np.ones(beat.sum()), (winner[beat], loser[beat])), shape=(n_agents, n_agents)
        )
        if connected_components(wins_graph, directed=True, connection="strong")[0] > 1:
            raise ValueError("without pseudo-counts some group of agents wins or loses every game")

    b, w, wins_b, n = _with_pseudo_counts(b_obs, w_obs, wins_obs, n_obs, pseudo_wins, pseudo_games)
    # Parameters: ratings of agents 1..A-1 (agent 0 fixed at 0 as a temporary gauge), then h.
    n_params = n_agents - 1 + int(colour_advantage)

    def unpack(theta):
        r = np.concatenate([[0.0], theta[: n_agents - 1]])
        h = theta[-1] if colour_advantage else 0.0
        return r, h

    def neg_loglik(theta):
        r, h = unpack(theta)
        x = r[b] - r[w] + h
        return -np.sum(wins_b * log_expit(x) + (n - wins_b) * log_expit(-x))

    def neg_grad(theta):
        r, h = unpack(theta)
        resid = wins_b - n * expit(r[b] - r[w] + h)  # d loglik / dx per row
        g_r = np.bincount(b, resid, n_agents) - np.bincount(w, resid, n_agents)
        g = g_r[1:]
        if colour_advantage:
            g = np.append(g, resid.sum())
        return -g

    def neg_hess(theta):
        r, h = unpack(theta)
        p = expit(r[b] - r[w] + h)
        info = n * p * (1 - p)
        # Fisher information of x = e_b − e_w (+ e_h): a weighted graph Laplacian plus h terms.
        lap = np.zeros((n_agents, n_agents))
        np.add.at(lap, (b, w), -np.where(b == w, 0.0, info))  # self-play informs h only
        lap = lap + lap.T
        lap[np.diag_indices(n_agents)] = -lap.sum(axis=1)
        if not colour_advantage:
            return lap[1:, 1:]
        cross = np.bincount(b, info, n_agents) - np.bincount(w, info, n_agents)
        full = np.zeros((n_agents + 1, n_agents + 1))
        full[:n_agents, :n_agents] = lap
        full[:n_agents, -1] = full[-1, :n_agents] = cross
        full[-1, -1] = info.sum()
        return full[1:, 1:]

    res = optimize.minimize(
        neg_loglik,
        np.zeros(n_params),
        jac=neg_grad,
        hess=neg_hess,
        method="Newton-CG",
        options={"xtol": 1e-10},
    )
    if not res.success and np.abs(neg_grad(res.x)).max() > 1e-3:
        raise RuntimeError(f"Elo fit did not converge: {res.message}")

    r, h = unpack(res.x)
    cov = np.zeros((n_agents, n_agents))
    cov[1:, 1:] = np.linalg.inv(neg_hess(res.x))[: n_agents - 1, : n_agents - 1]

    ref = int(np.argmax(r)) if anchor is None else int(np.searchsorted(agents, anchor))
    var = np.diag(cov) + cov[ref, ref] - 2 * cov[:, ref]
    var[ref] = 0.0
    ratings = pd.Series((r - r[ref]) * ELO_PER_NAT, index=pd.Index(agents, name="agent"))
    se = pd.Series(np.sqrt(np.clip(var, 0, None)) * ELO_PER_NAT, index=ratings.index)
    order = ratings.sort_values(ascending=False, kind="stable").index

    x_obs = r[b_obs] - r[w_obs] + h
    log_likelihood = float(
        np.sum(wins_obs * log_expit(x_obs) + (n_obs - wins_obs) * log_expit(-x_obs))
    )
    return EloFit(
        ratings=ratings.loc[order].rename("elo"),
        se=se.loc[order].rename("elo_se"),
        colour_advantage=float(h * ELO_PER_NAT),
        anchor="top=0" if anchor is None else f"agent:{anchor}=0",
        log_likelihood=log_likelihood,
        n_games=int(round(n_obs.sum())),
    )


def load_mohex_ladder(path) -> pd.DataFrame:
    """Read one Jones `arena_live_data/mohex-N.json` ladder into the matches schema.

    The file is a JSON list of records with black_name, white_name, black_wins, white_wins and
    moves (sometimes times); returns columns black, white, black_wins, white_wins, games.
    """
    records = json.loads(Path(path).read_text())
    raw = pd.DataFrame.from_records(records)
    df = pd.DataFrame(
        {
            "black": raw["black_name"].astype(str),
            "white": raw["white_name"].astype(str),
            "black_wins": raw["black_wins"].astype(int),
            "white_wins": raw["white_wins"].astype(int),
        }
    )
    df["games"] = df["black_wins"] + df["white_wins"]
    return df


def suggest_pairs(fit: EloFit, matches: pd.DataFrame, k: int) -> list[tuple[str, str]]:
    """The k unordered pairs to play next, by Jones's active-pairing score.

    Score of pair (i, j) = (se_i² + se_j²) × p(1 − p), p = `win_probability` of their rating
    difference: uncertain ratings and close matches first. Ties go to the pair with fewer games
    in `matches`. Each pair is returned once as (i, j) in the order of `fit.ratings`; play both
    colours.
    """
    agents = fit.ratings.index.to_numpy()
    elo = fit.ratings.to_numpy()
    var = fit.se.reindex(fit.ratings.index).to_numpy() ** 2
    i, j = np.triu_indices(len(agents), k=1)
    p = win_probability(elo[i] - elo[j])
    score = (var[i] + var[j]) * p * (1 - p)

    df = _aggregate(matches)
    pos = pd.Series(np.arange(len(agents)), index=agents)
    known = df["black"].isin(pos.index) & df["white"].isin(pos.index)
    a = pos[df.loc[known, "black"]].to_numpy()
    c = pos[df.loc[known, "white"]].to_numpy()
    played = np.zeros((len(agents), len(agents)))
    np.add.at(
        played, (np.minimum(a, c), np.maximum(a, c)), (df["black_wins"] + df["white_wins"])[known]
    )

    best = np.lexsort((played[i, j], -score))[:k]
    return [(str(agents[i[m]]), str(agents[j[m]])) for m in best]
