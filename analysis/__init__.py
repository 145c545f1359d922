"""Analysis of the Elo tables: the fits (`fits`: Jones's frontier, Epoch's S-curve, their
bootstrap), the train/test tradeoffs (`tradeoffs`), and the figures and summary (`report`,
`python -m analysis.report`; not imported here, since it selects matplotlib's backend)."""

from analysis.fits.bootstrap import BootstrapResult, bootstrap
from analysis.fits.jones_frontier import FrontierFit, fit_jones_frontier, frontier_from_runs
from analysis.fits.scurve import SCurveFit, fit_policy, fit_scurve, predict_elo
from analysis.tradeoffs import (
    elo_per_decade,
    fig13_spans,
    fit_train_test,
    node_scaling,
    span_table,
)

__all__ = [
    "BootstrapResult",
    "FrontierFit",
    "SCurveFit",
    "bootstrap",
    "elo_per_decade",
    "fig13_spans",
    "fit_jones_frontier",
    "fit_policy",
    "fit_scurve",
    "fit_train_test",
    "frontier_from_runs",
    "node_scaling",
    "predict_elo",
    "span_table",
]
