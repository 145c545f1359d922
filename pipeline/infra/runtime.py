"""Process-wide JAX settings, applied explicitly by each entry point that runs JAX and by the
tests' configuration, never on import.

Compiled programs are kept in JAX's persistent compilation cache in the `jax/` folder of the
per-user cache (`hex_env.solver.cache_dir()`: $HEXSCALE_CACHE, default ~/.cache/hexscale, the
root the solver's tables already use), so reruns and resumed jobs load them instead of compiling.
"""

from __future__ import annotations

import logging

import jax

from hex_env.solver import cache_dir


def quiet_jax_logs() -> None:
    """Raise JAX's backend-probe logger to WARNING (real backend errors still show)."""
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)


def enable_compile_cache() -> None:
    """JAX's persistent compilation cache under `cache_dir()/jax`, for every program that takes
    at least 0.2 s to compile."""
    jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def configure_jax(compile_cache: bool) -> None:
    """What every JAX entry point sets before it compiles: quiet backend probes, and the
    persistent compilation cache unless `compile_cache` is false."""
    quiet_jax_logs()
    if compile_cache:
        enable_compile_cache()
