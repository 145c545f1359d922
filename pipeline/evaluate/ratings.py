"""Bradley–Terry Elo from pairwise Hex results (hex_experiments.md §5).

Two models, chosen by `fit_elo(..., model=...)`:

- ``"jones"`` *[default]* (Jones 2021, boardlaw ``elos.py``): colour is averaged out before the
  fit. For each unordered pair (i, j) with games, i's score is the mean of its win rate as black
  and as white against j (the one rate played when only one colour was), times the games; the
  fit is P(i beats j) = sigmoid(r_i − r_j). No colour parameter: without a swap rule the
  first-mover advantage grows with strength (a perfect black always wins), which a single
  shared advantage cannot express.
- ``"colour_advantage"``: one strength per agent plus one first-mover advantage shared by every
  game, P(black wins) = sigmoid(r_black − r_white + h), fitted on the raw colour-resolved
  counts. When the true advantage grows with the black player's strength this model stretches
  rating gaps (tests/test_elo.py measures by how much).

Both are penalised maximum likelihood with pseudo-counts; ratings and standard errors are
reported in Elo (natural units × 400/ln 10).
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

from pipeline.infra import jones
from pipeline.infra.config import ELO_MODELS

__all__ = [
    "ELO_PER_NAT",
    "EloFit",
    "difference_variance",
    "fit_elo",
    "load_mohex_ladder",
    "suggest_pairs",
    "suggest_pairs_for",
    "symmetrise",
    "win_probability",
]

ELO_PER_NAT = 400 / math.log(10)

_COLUMNS = ("black", "white", "black_wins", "white_wins")


@dataclass(frozen=True)
class EloFit:
    """Result of `fit_elo`; every rating-like field is in Elo."""

    ratings: pd.Series  # [A] Elo, index = agent id, sorted best first
    se: pd.Series  # [A] Elo standard error relative to the anchor (0 for the anchor)
    colour_advantage: float  # Elo added to black's rating in every game (0 for "jones")
    anchor: str  # "top=0" or "agent:<id>=0"
    log_likelihood: float  # of the observed games under the fitted model, pseudo-counts excluded
    n_games: int  # observed games, pseudo-counts excluded
    model: str = "jones"  # one of ELO_MODELS
    cov: pd.DataFrame | None = None  # [A, A] Elo² covariance relative to the anchor (None: unknown)

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


def symmetrise(matches: pd.DataFrame) -> pd.DataFrame:
    """Jones's (2021) colour-symmetrised result of every unordered pair that played.

    Returns one row per pair with columns ``i``, ``j`` (i < j as strings), ``games`` (all games
    between them, both colours) and ``wins_i`` = mean(i's win rate as black vs j, i's win rate
    as white vs j) × games; when only one colour was played, that colour's rate. Self-play rows
    (black == white) carry no information about ratings and are dropped.
    """
    df = _aggregate(matches)
    df = df[df["black"] != df["white"]]
    if df.empty:
        return pd.DataFrame({"i": [], "j": [], "games": [], "wins_i": []})
    n = (df["black_wins"] + df["white_wins"]).to_numpy(float)
    first = (df["black"] < df["white"]).to_numpy()
    i = np.where(first, df["black"], df["white"])
    j = np.where(first, df["white"], df["black"])
    # i's win rate in this colouring: as black it is black's rate, as white it is white's.
    rate = np.where(first, df["black_wins"], df["white_wins"]).astype(float) / n
    rows = pd.DataFrame({"i": i, "j": j, "i_black": first, "rate": rate, "games": n})
    by = rows.groupby(["i", "j"], sort=True)
    out = pd.DataFrame(
        {
            "games": by["games"].sum(),
            "rate": by["rate"].mean(),  # at most one row per colouring after _aggregate
        }
    ).reset_index()
    out["wins_i"] = out["rate"] * out["games"]
    return out[["i", "j", "games", "wins_i"]]


def _check_graph(n_agents: int, a: np.ndarray, b: np.ndarray) -> None:
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n_agents, n_agents))
    n_components, labels = connected_components(graph, directed=False)
    if n_components > 1:
        sizes = np.bincount(labels)
        raise ValueError(
            f"comparison graph has {n_components} disconnected components (sizes "
            f"{sorted(sizes.tolist(), reverse=True)}); ratings across them are undefined"
        )


def _check_wins_graph(n_agents: int, winner: np.ndarray, loser: np.ndarray) -> None:
    wins_graph = coo_matrix((np.ones(len(winner)), (winner, loser)), shape=(n_agents, n_agents))
    if connected_components(wins_graph, directed=True, connection="strong")[0] > 1:
        raise ValueError("without pseudo-counts some group of agents wins or loses every game")


@dataclass(frozen=True)
class _Observed:
    """The observed games of a fit: `_aggregate`d (black, white) rows as agent indices."""

    pairs: pd.DataFrame  # `_aggregate(matches)`
    agents: np.ndarray  # [A] sorted agent ids
    black: np.ndarray  # [R] index into `agents` of each row's black player
    white: np.ndarray  # [R] index into `agents` of each row's white player
    wins: np.ndarray  # [R] black's wins
    games: np.ndarray  # [R] games


@dataclass(frozen=True)
class _Rows:
    """Likelihood rows: `a` beat `b` `k` times out of `n`, P = sigmoid(r_a − r_b + h·uses_h)."""

    a: np.ndarray
    b: np.ndarray
    k: np.ndarray
    n: np.ndarray
    uses_h: bool


def _observed(matches: pd.DataFrame, anchor: str | None, pseudo_games: float) -> _Observed:
    """`matches` aggregated and checked: known anchor, connected comparison graph, two agents,
    and without pseudo-counts a strongly connected win graph."""
    df = _aggregate(matches)
    agents = np.unique(np.concatenate([df["black"].to_numpy(), df["white"].to_numpy()]))
    if anchor is not None and anchor not in set(agents):
        raise ValueError(f"anchor {anchor!r} is not an agent in matches")
    n_agents = len(agents)
    b_obs = np.searchsorted(agents, df["black"].to_numpy())
    w_obs = np.searchsorted(agents, df["white"].to_numpy())
    wins_obs = df["black_wins"].to_numpy(dtype=float)
    n_obs = wins_obs + df["white_wins"].to_numpy(dtype=float)

    _check_graph(n_agents, b_obs, w_obs)
    if n_agents < 2:
        raise ValueError("need at least two agents")
    if pseudo_games == 0:
        beat = np.concatenate([wins_obs, n_obs - wins_obs]) > 0
        winner = np.concatenate([b_obs, w_obs])[beat]
        loser = np.concatenate([w_obs, b_obs])[beat]
        _check_wins_graph(n_agents, winner, loser)
    return _Observed(df, agents, b_obs, w_obs, wins_obs, n_obs)


def _jones_rows(obs: _Observed, pseudo_wins: float, pseudo_games: float) -> _Rows:
    """Each symmetrised pair seen from both sides, half its games each, plus pseudo-counts."""
    pairs = symmetrise(obs.pairs)
    i = np.searchsorted(obs.agents, pairs["i"].to_numpy())
    j = np.searchsorted(obs.agents, pairs["j"].to_numpy())
    half = pairs["games"].to_numpy(float) / 2
    wins_i = pairs["wins_i"].to_numpy(float) / 2
    a = np.concatenate([i, j])
    b = np.concatenate([j, i])
    k = np.concatenate([wins_i, half - wins_i]) + pseudo_wins
    n = np.concatenate([half, half]) + pseudo_games
    return _Rows(a, b, k, n, uses_h=False)


def _colour_rows(obs: _Observed, pseudo_wins: float, pseudo_games: float) -> _Rows:
    """The raw colour-resolved rows plus pseudo-games in both colourings of each pair that met."""
    b_obs, w_obs = obs.black, obs.white
    lo, hi = np.minimum(b_obs, w_obs), np.maximum(b_obs, w_obs)
    met = np.unique(np.stack([lo, hi], axis=1)[lo != hi], axis=0)
    m = len(met)
    a = np.concatenate([b_obs, met[:, 0], met[:, 1]])
    b = np.concatenate([w_obs, met[:, 1], met[:, 0]])
    k = np.concatenate([obs.wins, np.full(2 * m, pseudo_wins / 2)])
    n = np.concatenate([obs.games, np.full(2 * m, pseudo_games / 2)])
    return _Rows(a, b, k, n, uses_h=True)


@dataclass(frozen=True)
class _Likelihood:
    """Penalised negative log-likelihood of `rows` in θ = (r, h if rows.uses_h), with its
    gradient and analytic Hessian."""

    rows: _Rows
    n_agents: int
    lam: float  # Jones: mean loss + penalty·mean(r)², so penalty × likelihood rows

    def unpack(self, theta):
        return theta[: self.n_agents], (theta[self.n_agents] if self.rows.uses_h else 0.0)

    def objective(self, theta):
        a, b, k, n = self.rows.a, self.rows.b, self.rows.k, self.rows.n
        r, h = self.unpack(theta)
        x = r[a] - r[b] + h
        return -np.sum(k * log_expit(x) + (n - k) * log_expit(-x)) + self.lam * r.mean() ** 2

    def gradient(self, theta):
        a, b, k, n, n_agents = self.rows.a, self.rows.b, self.rows.k, self.rows.n, self.n_agents
        r, h = self.unpack(theta)
        resid = k - n * expit(r[a] - r[b] + h)  # d loglik / dx per row
        g_r = np.bincount(a, resid, n_agents) - np.bincount(b, resid, n_agents)
        g = -g_r + 2 * self.lam * r.mean() / n_agents
        return np.append(g, -resid.sum()) if self.rows.uses_h else g

    def hessian(self, theta):
        a, b, n, n_agents = self.rows.a, self.rows.b, self.rows.n, self.n_agents
        r, h = self.unpack(theta)
        p = expit(r[a] - r[b] + h)
        info = n * p * (1 - p)
        # Fisher information of x = e_a − e_b (+ e_h): a weighted graph Laplacian plus h terms.
        lap = np.zeros((n_agents, n_agents))
        np.add.at(lap, (a, b), -np.where(a == b, 0.0, info))  # self-play informs h only
        lap = lap + lap.T
        lap[np.diag_indices(n_agents)] = -lap.sum(axis=1)
        lap += 2 * self.lam / n_agents**2
        if not self.rows.uses_h:
            return lap
        cross = np.bincount(a, info, n_agents) - np.bincount(b, info, n_agents)
        full = np.zeros((n_agents + 1, n_agents + 1))
        full[:n_agents, :n_agents] = lap
        full[:n_agents, -1] = full[-1, :n_agents] = cross
        full[-1, -1] = info.sum()
        return full

    def minimise(self) -> np.ndarray:
        """θ at the minimum (Newton-CG from 0); RuntimeError if it did not converge."""
        res = optimize.minimize(
            self.objective,
            np.zeros(self.n_agents + int(self.rows.uses_h)),
            jac=self.gradient,
            hess=self.hessian,
            method="Newton-CG",
            options={"xtol": 1e-10},
        )
        if not res.success and np.abs(self.gradient(res.x)).max() > 1e-3:
            raise RuntimeError(f"Elo fit did not converge: {res.message}")
        return res.x


def _anchored(
    r: np.ndarray, cov: np.ndarray, agents: np.ndarray, anchor: str | None
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """(ratings, SEs, covariance) in Elo relative to the anchor (None: the top agent), best
    first, from natural-unit ratings `r` and their covariance `cov`."""
    ref = int(np.argmax(r)) if anchor is None else int(np.searchsorted(agents, anchor))
    # Covariance of r − r_ref: rows and columns minus the anchor's, the anchor's own all zero.
    rel = cov - cov[:, [ref]] - cov[[ref], :] + cov[ref, ref]
    ratings = pd.Series((r - r[ref]) * ELO_PER_NAT, index=pd.Index(agents, name="agent"))
    ratings.iloc[ref] = 0.0
    se = pd.Series(np.sqrt(np.clip(np.diag(rel), 0, None)) * ELO_PER_NAT, index=ratings.index)
    order = ratings.sort_values(ascending=False, kind="stable").index
    cov_elo = pd.DataFrame(rel * ELO_PER_NAT**2, index=ratings.index, columns=ratings.index)
    return (
        ratings.loc[order].rename("elo"),
        se.loc[order].rename("elo_se"),
        cov_elo.loc[order, order],
    )


def _log_likelihood(obs: _Observed, r: np.ndarray, h: float) -> float:
    """Log-likelihood of the observed games (no pseudo-counts) at ratings `r`, advantage `h`."""
    x_obs = r[obs.black] - r[obs.white] + h
    return float(np.sum(obs.wins * log_expit(x_obs) + (obs.games - obs.wins) * log_expit(-x_obs)))


def fit_elo(
    matches: pd.DataFrame,
    *,
    model: str = "jones",
    anchor: str | None = None,
    pseudo_wins: float = jones.PSEUDO_GAMES / 2,
    pseudo_games: float = jones.PSEUDO_GAMES,
    penalty: float = 0.01,
) -> EloFit:
    """Fit Bradley–Terry Elo ratings by penalised maximum likelihood.

    `matches` has columns black, white (agent ids), black_wins, white_wins (optional games =
    their sum); repeated (black, white) rows are summed.

    ``model="jones"`` (Jones 2021; boardlaw ``elos.symmetrize/solve``): `symmetrise` each pair,
    then fit P(i beats j) = sigmoid(r_i − r_j) to those counts. As in Jones's solver every pair
    (i, j) with games is seen from both sides, (i, j) and (j, i), each with half the pair's games
    (its games per colour) and `pseudo_games` extra games of which the side wins `pseudo_wins`;
    with the defaults (+1 win / +2 games) that is +2 wins for each agent and +4 games per pair
    on the pair's total. Self-play rows are ignored.

    ``model="colour_advantage"``: P(black wins) = sigmoid(r_black − r_white + h) on the raw
    counts, one h shared by all games; every pair that met gets `pseudo_games` extra games,
    half in each colouring, black winning `pseudo_wins / pseudo_games` of them (+1 win for each
    agent, +2 games per pair with the defaults). Self-play rows inform h only.

    Both models add Jones's `penalty`·m·mean(r)² (m = likelihood rows; Jones minimises the mean
    loss plus `penalty`·mean(r)²). It fixes only the gauge: rating differences and their
    standard errors do not depend on it. The pseudo-counts pull ratings together, by a few per
    cent of the spread when most pairs are lopsided and there are ~100 games per pair. With
    pseudo_games=0, across every split of the pool in two each side must have won a game against
    the other (a strongly connected win graph), else there is no finite MLE.

    Anchor: None puts the top-rated agent at 0 (Jones); an agent id puts that agent at 0. The
    standard errors come from the inverse observed Fisher information (the analytic Hessian of
    the penalised log-likelihood) and are those of r_i − r_anchor, so the anchor has se 0.

    Raises ValueError on an unknown model, missing columns, negative counts, an unknown anchor,
    a comparison graph that is not connected (ratings of separate components are not
    comparable), or, without pseudo-counts, a win graph that is not strongly connected.
    """
    if model not in ELO_MODELS:
        raise ValueError(f"model must be one of {ELO_MODELS}, got {model!r}")
    if not 0 <= pseudo_wins <= pseudo_games:
        raise ValueError("need 0 <= pseudo_wins <= pseudo_games")
    obs = _observed(matches, anchor, pseudo_games)
    rows = (_jones_rows if model == "jones" else _colour_rows)(obs, pseudo_wins, pseudo_games)
    n_agents = len(obs.agents)
    likelihood = _Likelihood(rows, n_agents, penalty * max(len(rows.a), 1))
    theta = likelihood.minimise()
    r, h = likelihood.unpack(theta)
    cov = np.linalg.inv(likelihood.hessian(theta))[:n_agents, :n_agents]
    ratings, se, cov_elo = _anchored(r, cov, obs.agents, anchor)
    return EloFit(
        ratings=ratings,
        se=se,
        colour_advantage=float(h * ELO_PER_NAT),
        anchor="top=0" if anchor is None else f"agent:{anchor}=0",
        log_likelihood=_log_likelihood(obs, r, h),
        n_games=int(round(obs.games.sum())),
        model=model,
        cov=cov_elo,
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


def difference_variance(cov: pd.DataFrame, a, b) -> np.ndarray:
    """Var(r_a − r_b) = σ²_a + σ²_b − 2·σ_ab (Elo², clipped at 0) for each pair of agent ids in
    the sequences `a` and `b`, from a fit's covariance (`EloFit.cov`)."""
    var = [cov.at[i, i] + cov.at[j, j] - 2 * cov.at[i, j] for i, j in zip(a, b, strict=True)]
    return np.maximum(np.asarray(var, float), 0.0)


def suggest_pairs(fit: EloFit, matches: pd.DataFrame, k: int) -> list[tuple[str, str]]:
    """The k unordered pairs to play next, by Jones's active-pairing rule: the pair's rating
    variance × p(1 − p).

    Score of pair (i, j) = Var(r_i − r_j) × p(1 − p), p = `win_probability` of their rating
    difference: uncertain differences and close matches first. Var(r_i − r_j) = se_i² + se_j²
    − 2·cov_ij from `fit.cov` (independent ratings when it is None). It is the variance of the
    difference, not of each rating: with ratings relative to an anchor, agents that have played
    each other a lot but the anchor little share one uncertain offset — their SEs are large, the
    variance of their difference small — so the games that pin the offset come first. Ties go
    to the pair with fewer games in `matches`. Each pair is returned once as (i, j) in the order
    of `fit.ratings`; play both colours.
    """
    agents = fit.ratings.index.to_numpy()
    elo = fit.ratings.to_numpy()
    var = fit.se.reindex(fit.ratings.index).to_numpy() ** 2
    i, j = np.triu_indices(len(agents), k=1)
    p = win_probability(elo[i] - elo[j])
    cov_ij = 0.0 if fit.cov is None else fit.cov.loc[agents, agents].to_numpy()[i, j]
    score = (var[i] + var[j] - 2 * cov_ij) * p * (1 - p)
    return _best_pairs(agents, i, j, score, matches, k)


def _best_pairs(agents, i, j, score, matches: pd.DataFrame, k: int) -> list[tuple[str, str]]:
    """The k pairs (i, j) of highest score; ties go to the pair with fewer games."""
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


def suggest_pairs_for(
    fit: EloFit, pool: list[str], short: list[str], games: int, matches: pd.DataFrame, k: int
) -> list[tuple[str, str]]:
    """The k unordered `pool` pairs whose `games` more games most reduce the summed variance of
    the `short` ratings (agents still above an SE target, inside the pool or not).

    `games` games between i and j carry information w = games·p(1 − p)/s² (s = 400/ln 10 Elo)
    on r_i − r_j = uᵀr; the covariance then loses Σu uᵀΣ·w/(1 + w·uᵀΣu), so rating a's
    variance falls by w·(Σu)_a²/(1 + w·Var(r_i − r_j)). Jones's rule scores the pair's own
    difference, w·Var(r_i − r_j) to first order; this one scores what the pair does for the
    ratings that are short, and so plays the links to the anchor that they all lean on.
    """
    cov = fit.cov
    agents = np.asarray(pool)
    sigma = cov.loc[agents, agents].to_numpy()
    link = cov.loc[list(short), agents].to_numpy()  # Σ[short, pool]
    gram = link.T @ link
    i, j = np.triu_indices(len(agents), k=1)
    elo = fit.ratings.reindex(agents).to_numpy()
    p = win_probability(elo[i] - elo[j])
    w = games * p * (1 - p) / ELO_PER_NAT**2
    var_diff = sigma[i, i] + sigma[j, j] - 2 * sigma[i, j]
    score = w * (gram[i, i] + gram[j, j] - 2 * gram[i, j]) / (1 + w * var_diff)
    return _best_pairs(agents, i, j, score, matches, k)
