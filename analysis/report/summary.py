"""The report's summary as frozen dataclasses, one per section, and its two renderings.

`analysis.report.figures.write_all` fills a `Summary`; `Summary.write` writes it as
summary.json (`Summary.as_dict`) and summary.md (`Summary.markdown`). Rows of tables and the
status/bootstrap dicts of other modules (`FitStatus.as_dict`, `BootstrapResult.summary`, ...)
stay plain dicts (`Record`): their keys belong to those modules.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.infra.files import atomic_write_bytes

__all__ = [
    "Failed",
    "FailedPolicy",
    "Fig13Summary",
    "JonesFrontierSummary",
    "ParamEstimate",
    "PolicyFit",
    "Record",
    "Summary",
    "TrainTestSummary",
]

Record = dict[str, Any]  # a table row, or a status / bootstrap dict of another module
_OMIT_NONE = "omit_none"  # field metadata: the key is left out of the dict while the value is None
_FLATTEN = "flatten"  # field metadata: a Record whose keys join the enclosing dict


def _optional() -> Any:
    """A field that is absent from the JSON until it is set (None: not set)."""
    return field(default=None, metadata={_OMIT_NONE: True})


@dataclass(frozen=True)
class Failed:
    """A section whose fit raised: its error instead of its results."""

    error: str


@dataclass(frozen=True)
class FailedPolicy:
    """A scaling policy whose S-curve could not be selected or fitted."""

    policy: str
    error: str


@dataclass(frozen=True)
class JonesFrontierSummary:
    """The Jones (2021) changepoint frontier fit, jointly over boards and per board."""

    params: dict[str, float]
    rms_elo: float
    board_sizes: list[int]
    converged: bool
    status: Record
    note: str
    per_board: list[Record]  # jones_frontier.per_board_fits rows


@dataclass(frozen=True)
class ParamEstimate:
    """One S-curve parameter: its estimate and, for the main fit, its bootstrap interval."""

    estimate: float
    interval: tuple[float, float] | None = None  # (lo, hi); None: not bootstrapped

    def record(self) -> Record:
        """The JSON row: estimate, then lo and hi once bootstrapped."""
        if self.interval is None:
            return {"estimate": self.estimate}
        return {"estimate": self.estimate, "lo": self.interval[0], "hi": self.interval[1]}


@dataclass(frozen=True, kw_only=True)
class PolicyFit:
    """The S-curve fit of one scaling policy (Epoch 2023); bootstrapped if it is the main fit."""

    policy: str
    n_agents: int
    n_runs: int | None
    rms_elo: float
    test_axis: str
    elo_ceiling: float | None
    converged: bool
    status: Record
    log10_fwd_flops_intercept: float
    log10_fwd_flops_slope: float
    log10_train_range: list[float]
    log10_test_range: list[float]
    params: dict[str, ParamEstimate]
    bootstrap: Record | None = _optional()
    bootstrap_resamples: int | None = _optional()


@dataclass(frozen=True, kw_only=True)
class Fig13Summary:
    """Epoch's (2023) Figure 13: spans of MCTS only, Chinchilla-style and combined."""

    levels_elo: list[float]
    summary: dict[str, Record]  # config -> mean/sd of the spans
    sum_of_singles: Record | None
    per_level: list[Record]
    n_cut: dict[str, int]  # config -> spans cut by an edge
    n_agents: dict[str, int]
    n_agents_uncovered: int
    reference_arch: str
    configs: dict[str, str]  # config -> what varies
    fits: dict[str, Record]  # config -> status
    arch_fits: dict[str, Record]  # architecture -> status
    skipped_archs: dict[str, str]


@dataclass(frozen=True)
class TrainTestSummary:
    """Jones's (2021) train/test plane: `TrainTestFit.as_dict` plus its bootstrap."""

    fit: Record = field(metadata={_FLATTEN: True})
    bootstrap: Record | None = _optional()
    bootstrap_ci: dict[str, Record] | None = _optional()  # coefficient -> lo, hi, se


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Everything summary.json holds, in its order; `write` writes it and summary.md."""

    convention: str
    board_size: int
    nodes: int
    files: list[str]
    elo_model: str
    anchor: str
    jones_frontier: JonesFrontierSummary | Failed
    # analysis.fits.perfect_play: {"compute": perfect_play_compute, "slopes": frontier_slopes}
    perfect_play: Record | Failed
    node_scaling: list[Record]  # tradeoffs.node_scaling_table rows
    policies: dict[str, PolicyFit | FailedPolicy]
    main_policy: str
    main_policy_note: str | None = _optional()  # set when the frontier policy was not fitted
    spans_bootstrap: Record | None = _optional()
    spans: list[Record]  # tradeoffs.span_table rows
    scurve_uncapped: Record | Failed  # the main S-curve refitted with E free (figures)
    fig13: Fig13Summary | Failed
    train_test: TrainTestSummary | Failed

    def as_dict(self) -> dict:
        """The JSON-ready dict: numpy scalars as Python ones, non-finite floats as None."""
        return finite(plain(self))

    def markdown(self) -> str:
        """summary.md: the fits' diagnostics and every section's table."""
        return _markdown(finite(self))

    def write(self, out_dir: pathlib.Path) -> dict:
        """Write summary.json and summary.md into `out_dir`; return `as_dict()`."""
        data = self.as_dict()
        atomic_write_bytes(out_dir / "summary.json", json.dumps(data, indent=2).encode())
        atomic_write_bytes(out_dir / "summary.md", self.markdown().encode())
        return data


def plain(x):
    """`x` with dataclasses as dicts in field order (see `_optional`, `_FLATTEN`)."""
    if isinstance(x, ParamEstimate):
        return x.record()
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        out = {}
        for f in dataclasses.fields(x):
            value = getattr(x, f.name)
            if value is None and f.metadata.get(_OMIT_NONE):
                continue
            if f.metadata.get(_FLATTEN):
                out.update(plain(value))
            else:
                out[f.name] = plain(value)
        return out
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return type(x)(plain(v) for v in x)
    return x


def finite(x):
    """`x` JSON-ready: numpy scalars as Python ones, non-finite floats None, tuples lists;
    dataclasses keep their type, with every field made finite."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        fields = dataclasses.fields(x)
        return dataclasses.replace(x, **{f.name: finite(getattr(x, f.name)) for f in fields})
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [finite(v) for v in x]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


# --- summary.md ---------------------------------------------------------------------------


def _fmt(v, spec: str = ".4g") -> str:
    return "–" if v is None else format(v, spec)


def _fit_row(name: str, result: Record | Failed | FailedPolicy) -> str:
    """One row of the fits table: a fit's status, or its error."""
    if isinstance(result, Failed | FailedPolicy):
        return f"| {name} | FAILED: {result.error} | | | | |"
    status = result
    bounds = ", ".join(status.get("at_bounds", [])) or "none"
    conv = "yes" if status.get("converged") else f"**NO** ({status.get('message', '')})"
    rms = status.get("rms")
    unit = status.get("rms_unit", "Elo")
    return (
        f"| {name} | {conv} | {bounds} | {_fmt(rms, '.3g')} {unit} | {status.get('n', '–')} | "
        f"{'SE-weighted' if status.get('weighted') else 'unweighted'} |"
    )


def _boot_line(b: Record | None) -> str:
    """One line on a bootstrap (`BootstrapResult.summary`): resamples, failures, intervals."""
    if not b:
        return "no bootstrap."
    if b.get("ci"):
        cis = "intervals given"
    elif b.get("cluster") and b.get("n_clusters", 0) < b.get("min_clusters", 0):
        cis = "**no intervals** (too few runs to resample)"
    else:
        cis = "**no intervals** (more than 10% of the refits failed)"
    unit = f"runs ({b.get('n_clusters')})" if b.get("cluster") else f"rows ({b.get('n_clusters')})"
    return (
        f"bootstrap: {b['n_resamples']} resamples of {unit}, {b['n_failed']} failed "
        f"({_fmt(b.get('failed_fraction'), '.0%')}); {cis}."
    )


def _status_of(section) -> Record | Failed | FailedPolicy:
    return section if isinstance(section, Failed | FailedPolicy) else section.status


def _fits_md(s: Summary) -> list[str]:
    """The table of every fit's convergence, bounds, RMS, n and weighting."""
    fits = {"Jones frontier": _status_of(s.jones_frontier)}
    for name, pol in s.policies.items():
        fits[f"S-curve, {name} ({pol.policy})"] = _status_of(pol)
    if isinstance(s.fig13, Fig13Summary):
        for key, st in (s.fig13.arch_fits or {}).items():
            fits[f"S-curve, architecture {key} (combined)"] = st or {}
    tt = s.train_test
    fits["train/test plane (OLS)"] = tt if isinstance(tt, Failed) else tt.fit.get("status") or {}
    lines = ["## Fits", "", "| fit | converged | at bounds | RMS | n | weighting |"]
    lines += ["|---|---|---|---|---|---|"]
    lines += [_fit_row(name, d) for name, d in fits.items()]
    return [*lines, ""]


def _jones_md(j: JonesFrontierSummary | Failed) -> list[str]:
    """The joint Jones frontier parameters and the per-board fits."""
    if isinstance(j, Failed):
        return []
    lines = ["## Jones (2021) frontier fit", "", "| param | value |", "|---|---|"]
    lines += [f"| {k} | {v:.4g} |" for k, v in j.params.items() if v is not None]
    lines += [f"| RMS (Elo) | {j.rms_elo:.3g} |", ""]
    lines += [
        "Each board alone (Elo = min(0, max(m·log10 C + c, plateau)); C within 50 Elo of "
        "perfect: fitted incline, and first frontier point seen there):",
        "",
        "| board | m (Elo/decade) | plateau | log10 C, fit | log10 C, seen | best Elo "
        "| RMS | converged |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['boardsize']} | {r['m']:.0f} | {r['plateau']:.0f} "
        f"| {r['log10_flops_within_fit']:.2f} | {_fmt(r['log10_flops_within_seen'], '.2f')} "
        f"| {r['best_elo']:.0f} | {r['rms_elo']:.0f} | {r['converged']} |"
        for r in j.per_board
    ]
    return [*lines, ""]


def _perfect_play_md(p: Record | Failed) -> list[str]:
    """Compute to perfect play per board, the multipliers, and the frontier slope per seed."""
    if isinstance(p, Failed):
        return []
    compute, slopes = p["compute"], p["slopes"]
    lines = [
        f"## Compute to perfect play (frontier first within {compute['within_elo']:g} Elo)", "",
        f"95% intervals from {compute['n_resamples']} draws of architectures (a random seed "
        "each) and ratings (their SEs); never: the share of draws whose frontier never got there.",
        "", "| board | log10 C | 95% interval | never |", "|---|---|---|---|",
    ]  # fmt: skip
    bound = lambda v, spec: "∞" if v is None else format(v, spec)  # noqa: E731 (inf: never)
    for board, row in compute["boards"].items():
        lo, hi = row["ci95"]
        lines.append(f"| {board} | {_fmt(row['log10_flops'], '.2f')} | {bound(lo, '.2f')} – "
                     f"{bound(hi, '.2f')} | {row['never_reached_fraction']:.0%} |")  # fmt: skip
    for pair, row in compute["multipliers"].items():
        lo, hi = row["ci95"]
        lines.append(f"\nMultiplier {pair}: {_fmt(row['multiplier'], '.3g')}× "
                     f"(95% interval {bound(lo, '.3g')} – {bound(hi, '.3g')}).")  # fmt: skip
    per_seed = ", ".join(f"seed {s}: {_fmt(r['m'], '.0f')}" for s, r in slopes["per_seed"].items())
    boot = slopes["bootstrap"]
    lo, hi = boot["ci95"]
    lines += ["", f"Frontier slope m (Elo/decade), each seed's grid: {per_seed}; over draws: "
              f"95% interval {_fmt(lo, '.0f')} – {_fmt(hi, '.0f')}, SE {_fmt(boot['se'], '.0f')} "
              f"({boot['n_ok']} fits, {boot['n_failed']} not converged).", ""]  # fmt: skip
    return lines


def _uncapped_md(u: Record | Failed, capped: PolicyFit | FailedPolicy) -> list[str]:
    """The main S-curve's E with and without the cap E ≤ 0."""
    if isinstance(u, Failed) or isinstance(capped, FailedPolicy):
        return []
    status = u["status"]
    return ["## Upper plateau E without the cap", "",
            f"The {u['policy']} S-curve refitted with E free: E = {_fmt(u['E'], '.0f')} Elo "
            f"(capped fit: {_fmt(capped.params['E'].estimate, '.0f')}); RMS "
            f"{_fmt(u['rms_elo'], '.3g')}, converged {status.get('converged')}, at bounds "
            f"{status.get('at_bounds') or 'none'}.", ""]  # fmt: skip


def _node_scaling_md(rows: list[Record]) -> list[str]:
    """Elo per decade of nodes at fixed snapshots."""
    if not rows:
        return []
    lines = [
        "## Node scaling at fixed snapshots (Jones 9×9: ≈ 250 Elo per decade)",
        "",
        "| board | run | snapshot | train FLOPs | Elo/decade (1–64) | Elo at 1 … max nodes "
        "| every doubling rises (1 SE of the step) |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['board']} | {r['run']} | {r['snapshot']} | {r['train_flops_jones']:.2g} "
        f"| {r['elo_per_decade_1_64']:.0f} ± {r['elo_per_decade_se']:.0f} "
        f"| {', '.join(f'{e:.0f}' for e in r['elo'])} (nodes {r['nodes'][0]}…{r['nodes'][-1]}) "
        f"| {'yes' if r['rises_every_doubling_within_1se'] else 'no'} "
        f"({'fit covariance' if r['step_se_basis'] == 'covariance' else 'SEs vs anchor'}) |"
        for r in rows
    ]
    return [*lines, ""]


def _policy_md(name: str, pol: PolicyFit | FailedPolicy) -> list[str]:
    """One scaling policy's S-curve parameters, with intervals where bootstrapped."""
    lines = [f"## S-curve fit, {name} ({pol.policy})", ""]
    if isinstance(pol, FailedPolicy):
        return [*lines, f"not fitted: {pol.error}", ""]
    ceiling = pol.elo_ceiling
    cap = "" if ceiling is None else f" E ≤ {ceiling:g} (no agent beats perfect play)."
    lines += [f"{pol.n_agents} agents, RMS {pol.rms_elo:.1f} Elo.{cap}", ""]
    if pol.bootstrap:
        lines += [_boot_line(pol.bootstrap), ""]
    lines += ["| param | estimate | CI lo | CI hi |", "|---|---|---|---|"]
    for k, p in pol.params.items():
        lo, hi = (None, None) if p.interval is None else p.interval
        lines.append(f"| {k} | {_fmt(p.estimate)} | {_fmt(lo)} | {_fmt(hi)} |")
    return [*lines, ""]


def _span_ci(row: Record, key: str) -> str:
    if row.get(f"{key}_lo") is None:
        return "–"
    return f"{row[f'{key}_lo']:.2f}–{row[f'{key}_hi']:.2f}"


def _spans_md(rows: list[Record], bootstrap: Record | None) -> list[str]:
    """The efficient spans of the main fit per Elo level (Epoch Fig. 5)."""
    lines = ["## Efficient spans (frontier policy; Epoch Fig. 5)", ""]
    if bootstrap:
        lines += [_boot_line(bootstrap), ""]
    lines += [
        "| Elo level | span_train (OOM) | CI | span_inf (OOM) | CI | cut by |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        flag = row.get("edges") or "–"
        if row.get("extrapolated"):
            flag += " (extrapolated nodes)"
        lines.append(
            f"| {row['level_elo']:.0f} | {row['span_train_oom']:.2f} | "
            f"{_span_ci(row, 'span_train')} | {row['span_inf_oom']:.2f} | "
            f"{_span_ci(row, 'span_inf')} | {flag} |"
        )
    return [*lines, ""]


def _fig13_md(f13: Fig13Summary | Failed) -> list[str]:
    """Figure 13's mean ± sd of spans per configuration, or why it was not drawn."""
    if isinstance(f13, Failed):
        return ["## Figure 13", "", f"not drawn: {f13.error}", ""] if f13.error else []
    if not f13.summary:
        return []
    lines = ["## Figure 13: mean ± sd of spans over levels", ""]
    lines += ["| configuration | agents | span_train | span_inf | spans cut by an edge |"]
    lines += ["|---|---|---|---|---|"]
    for name, row in f13.summary.items():
        train = f"{_fmt(row['span_train_oom_mean'], '.2f')} ± "
        train += _fmt(row["span_train_oom_std"], ".2f")
        inf = f"{_fmt(row['span_inf_oom_mean'], '.2f')} ± {_fmt(row['span_inf_oom_std'], '.2f')}"
        lines.append(
            f"| {name} | {f13.n_agents.get(name, '–')} | {train} | {inf} | "
            f"{f13.n_cut.get(name, 0)} of {len(f13.levels_elo)} |"
        )
    total = f13.sum_of_singles
    if total:
        lines.append(
            f"| sum MCTS only + Chinchilla-style | | {_fmt(total['span_train_oom'], '.2f')} | "
            f"{_fmt(total['span_inf_oom'], '.2f')} | |"
        )
    lines.append("")
    if f13.skipped_archs:
        lines += [
            f"Architectures without a fit (absent from combined, {f13.n_agents_uncovered} "
            f"agents): {f13.skipped_archs}",
            "",
        ]
    return lines


def _train_test_md(tt: TrainTestSummary | Failed) -> list[str]:
    """The train/test plane's coefficients with OLS and bootstrap intervals."""
    lines = ["## Jones (2021) train/test plane", ""]
    if isinstance(tt, Failed):
        return [*lines, f"not fitted: {tt.error}", ""]
    fit = tt.fit
    lines += [
        f"log10 test = c + s·log10 train + k·Elo on {fit['n']} frontier points, levels "
        f"{', '.join(f'{v:.0f}' for v in fit['levels_elo'])}; 10× train ≈ "
        f"{fit['test_reduction_per_10x_train']:.1f}× less test compute (Jones 9×9: ≈ 15×).",
        "",
        "| coefficient | estimate | OLS CI | bootstrap CI |",
        "|---|---|---|---|",
    ]
    boot = tt.bootstrap_ci or {}
    names = {"log10_train": "slope", "elo": "elo_coef", "intercept": "intercept"}
    for k, row in fit["coefficients"].items():
        b = boot.get(names[k], {})
        bci = "–" if b.get("lo") is None else f"{b['lo']:.4g}–{b['hi']:.4g}"
        lines.append(f"| {k} | {row['estimate']:.4g} | {row['lo']:.4g}–{row['hi']:.4g} | {bci} |")
    lines.append("")
    if tt.bootstrap:
        lines += [_boot_line(tt.bootstrap), ""]
    return lines


def _markdown(s: Summary) -> str:
    """summary.md from a `finite` summary."""
    lines = ["# hexscale analysis summary", ""]
    lines += [
        f"FLOP convention: {s.convention}; board {s.board_size}; reference nodes {s.nodes}; "
        f"Elo model: {s.elo_model}; anchor: {s.anchor}.",
        "",
    ]
    if s.main_policy_note:
        lines += [f"**Main fit: {s.main_policy_note}.**", ""]
    lines += _fits_md(s)
    lines += _jones_md(s.jones_frontier)
    lines += _perfect_play_md(s.perfect_play)
    lines += _node_scaling_md(s.node_scaling)
    for name, pol in s.policies.items():
        lines += _policy_md(name, pol)
    lines += _spans_md(s.spans, s.spans_bootstrap)
    lines += _uncapped_md(s.scurve_uncapped, s.policies[s.main_policy])
    lines += _fig13_md(s.fig13)
    lines += _train_test_md(s.train_test)
    return "\n".join(lines)
