"""MCTS over the Hex env through mctx: the search kinds (`config`), one function per kind behind a
table (`policies`), their shared simulation loop (`loop`), the regularised policy of the jones and
grill kinds (`regularised`), the env as the model (`model`), and the mctx internals they need
(`mctx_internals`, Apache-2.0)."""

from agents.search.config import (
    PAPER_TEST_NOISE,
    REGULARISED_KINDS,
    SEARCH_KINDS,
    SearchConfig,
    search_id,
)
from agents.search.model import ApplyFn, make_recurrent_fn, make_root_fn
from agents.search.policies import POLICIES, SearchOutput, make_search_fn
from agents.search.regularised import grill_policy, regularised_lambda, regularised_select

__all__ = [
    "PAPER_TEST_NOISE",
    "POLICIES",
    "REGULARISED_KINDS",
    "SEARCH_KINDS",
    "ApplyFn",
    "SearchConfig",
    "SearchOutput",
    "grill_policy",
    "make_recurrent_fn",
    "make_root_fn",
    "make_search_fn",
    "regularised_lambda",
    "regularised_select",
    "search_id",
]
