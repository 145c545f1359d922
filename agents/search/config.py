"""Search settings: the kinds, their paper defaults, and the short id an agent's name carries.

Search kinds (`SearchConfig.kind`; hex_experiments.md §2):
  * `jones`: Jones's (2021, boardlaw `mcts`) regularised policy π̄(a) = λπ(a)/(α − q̂(a)) of Grill
    et al. (2020), exactly: q̂ = (q + 1)/2 for visited children (his batch-global min–max in
    practice), 0 for unexpanded ones; N = Σ_a max(n_a, 1) over all b² cells; λ = c·N/(N + A)
    (his form, the square root missing), c = 1/16; α by Newton's method to tolerance; the descent
    samples from π̄ at every node; root Dirichlet noise on every call, evaluation included.
  * `grill`: the same with Grill et al.'s λ = c·√N/(N + A). Its c is not Jones's (c = 1/16 was
    tuned for his form): measure it.
  * `puct`, `gumbel`: `mctx.muzero_policy` / `mctx.gumbel_muzero_policy` over the shared loop.
"""

from __future__ import annotations

import dataclasses

import jax

SEARCH_KINDS = ("jones", "grill", "puct", "gumbel")

LOOPS = ("auto", "static", "dynamic")
REGULARISED_KINDS = ("jones", "grill")  # Grill et al.'s π̄, with Jones's / the corrected λ

# Root noise at evaluation as each search's paper had it: Jones mixed Dirichlet noise into every
# call; AlphaZero (PUCT) and Gumbel MuZero evaluate without it.
PAPER_TEST_NOISE = {"jones": True, "grill": True, "puct": False, "gumbel": False}


@dataclasses.dataclass
class SearchConfig:
    kind: str = "jones"  # jones | grill | puct | gumbel
    nodes: int = 64  # network evaluations per move, root included
    c: float = 0.0625  # λ coefficient of jones/grill; 1/16 is Jones's, tuned for his λ form only
    noise_fraction: float = 0.25  # root Dirichlet weight ε (jones, grill, puct)
    dirichlet_alpha: float | None = None  # None: 10 / b² (Jones)
    test_noise: bool | None = None  # root noise at evaluation; None: the paper's (PAPER_TEST_NOISE)
    pb_c_init: float = 1.25  # PUCT exploration constant
    max_considered: int = 16  # Gumbel: actions considered at the root
    max_depth: int | None = None  # None: b² (bounds PUCT's deep trees)
    # static: every loop has a trip count known at compile time (no host wait per iteration on
    # GPU); dynamic: loops run until done; auto: static on GPU/TPU, dynamic on CPU. Same results.
    loops: str = "auto"

    def validate(self) -> None:
        if self.kind not in SEARCH_KINDS:
            raise ValueError(f"search.kind must be one of {SEARCH_KINDS}, got {self.kind!r}")
        if self.nodes < 1:
            raise ValueError(f"search.nodes must be >= 1, got {self.nodes}")
        if self.c <= 0 or not 0 <= self.noise_fraction <= 1:
            raise ValueError("search.c must be > 0 and search.noise_fraction in [0, 1]")
        if self.loops not in LOOPS:
            raise ValueError(f"search.loops must be one of {LOOPS}, got {self.loops!r}")
        if self.dirichlet_alpha is not None and self.dirichlet_alpha <= 0:
            raise ValueError(f"search.dirichlet_alpha must be > 0, got {self.dirichlet_alpha}")

    @property
    def evaluation_noise(self) -> bool:
        """Whether evaluation mixes in the search's root noise (`test_noise`, else the paper's)."""
        return PAPER_TEST_NOISE[self.kind] if self.test_noise is None else bool(self.test_noise)


def resolve_loops(loops: str) -> str:
    """`loops` with auto made concrete for the default backend: static on accelerators, where a
    loop of unknown trip count waits on the host every iteration; dynamic on CPU, where it
    costs nothing and stops early."""
    if loops != "auto":
        return loops
    return "dynamic" if jax.default_backend() == "cpu" else "static"


def search_id(cfg: SearchConfig) -> str:
    """Short stable name of the search settings, node count excluded: the kind, then every
    setting that the kind uses and that differs from its default, e.g. "jones", "grill-c0.25",
    "puct-pb2", "gumbel-m8", "jones-evalnoise0"."""
    default = SearchConfig(kind=cfg.kind)
    parts = [cfg.kind]
    if cfg.kind in REGULARISED_KINDS and cfg.c != default.c:
        parts.append(f"c{cfg.c:g}")
    if cfg.kind != "gumbel":
        if cfg.noise_fraction != default.noise_fraction:
            parts.append(f"eps{cfg.noise_fraction:g}")
        if cfg.dirichlet_alpha is not None:
            parts.append(f"dir{cfg.dirichlet_alpha:g}")
    if cfg.kind == "puct" and cfg.pb_c_init != default.pb_c_init:
        parts.append(f"pb{cfg.pb_c_init:g}")
    if cfg.kind == "gumbel" and cfg.max_considered != default.max_considered:
        parts.append(f"m{cfg.max_considered}")
    if cfg.max_depth is not None:
        parts.append(f"depth{cfg.max_depth}")
    if cfg.test_noise is not None and cfg.test_noise != PAPER_TEST_NOISE[cfg.kind]:
        parts.append(f"evalnoise{int(cfg.test_noise)}")
    return "-".join(parts)
