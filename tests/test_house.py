"""The house rules a reader relies on: defaults have one home (the schema), no function is too
long to read, no stage imports a later one, and importing a module changes nothing global."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from pipeline.infra.config import CONF_DIR, Config, compose
from pipeline.infra.layout import Layout

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("hex_env", "agents", "pipeline", "analysis")
MAX_FUNCTION_LINES = 100
# Data flows in this order; a module may import its own stage and earlier ones only.
STAGES = (
    "hex_env",
    "agents",
    "pipeline.infra",
    "pipeline.train",
    "pipeline.evaluate",
    "analysis",
    "pipeline",  # orchestration: sweep, reproduce, status, catalog, publish
)


def _leaves(tree, prefix=""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, tree


def _schema_defaults() -> dict:
    return dict(_leaves(OmegaConf.to_container(OmegaConf.structured(Config))))


def _restated(values: dict, base: dict) -> list[str]:
    """Keys of `values` whose value equals `base`'s (interpolations are never restatements)."""
    return [
        f"{key} = {value!r}"
        for key, value in values.items()
        if key in base and not (isinstance(value, str) and "${" in value) and base[key] == value
    ]


def _yaml(path: Path) -> dict:
    body = yaml.safe_load(path.read_text()) or {}
    body.pop("defaults", None)
    body.pop("hydra", None)
    return body


@pytest.mark.parametrize(
    "path", sorted(p for p in CONF_DIR.rglob("*.yaml") if p.parent.name in ("search", "train"))
)
def test_group_files_hold_only_departures_from_the_schema(path):
    group = path.parent.name
    values = dict(_leaves(_yaml(path), group))
    assert not _restated(values, _schema_defaults()), f"{path} restates schema defaults"


def test_config_yaml_holds_only_departures_from_the_schema():
    values = dict(_leaves(_yaml(CONF_DIR / "config.yaml")))
    assert not _restated(values, _schema_defaults())


@pytest.mark.parametrize("path", sorted((CONF_DIR / "experiment").glob("*.yaml")))
def test_presets_hold_only_departures_from_what_they_compose_over(path):
    """A preset's value that the composition without it already gives is a restatement."""
    groups = [
        f"{group.strip('/')}={choice}"
        for entry in (yaml.safe_load(path.read_text()).get("defaults") or [])
        if isinstance(entry, dict)
        for key, choice in entry.items()
        for group in [key.removeprefix("override ").strip()]
    ]
    base = dict(_leaves(dataclasses.asdict(compose(*groups))))
    values = dict(_leaves(_yaml(path)))
    assert not _restated(values, base), f"{path} restates what it composes over"


def test_a_restated_default_is_caught():
    assert _restated({"train.n_envs": 256, "train.lr": 0.01}, _schema_defaults()) == [
        "train.n_envs = 256"
    ]


def test_multirun_logs_go_to_the_layouts_logs_folder(tmp_path):
    sweep_dir = yaml.safe_load((CONF_DIR / "config.yaml").read_text())["hydra"]["sweep"]["dir"]
    root = tmp_path / "results"
    resolved = sweep_dir.replace("${results_dir}", str(root))
    assert resolved.startswith(str(Layout(root).logs) + "/")


def _functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _body_lines(node) -> int:
    """Lines from the first statement after the docstring to the end of the last one."""
    body = node.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body[-1].end_lineno - body[0].lineno + 1


def test_no_function_is_too_long_to_read():
    long = [
        f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({_body_lines(node)} lines)"
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        for node in _functions(ast.parse(path.read_text()))
        if _body_lines(node) > MAX_FUNCTION_LINES
    ]
    assert not long


def test_the_length_rule_counts_from_after_the_docstring():
    source = 'def f():\n    """Doc\n    more."""\n    a = 1\n\n    return a\n'
    assert _body_lines(next(_functions(ast.parse(source)))) == 3


def _stage(module: str) -> int:
    """The index in STAGES of the most specific stage `module` belongs to."""
    matches = [s for s in STAGES if module == s or module.startswith(s + ".")]
    return STAGES.index(max(matches, key=len))


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_no_stage_imports_a_later_one():
    later = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            module = ".".join(path.relative_to(REPO).with_suffix("").parts)
            for imported in _imports(path):
                if imported.split(".")[0] in PACKAGES and _stage(imported) > _stage(module):
                    later.append(f"{module} imports {imported}")
    assert not later


def test_importing_any_module_registers_no_config_and_sets_no_jax_option():
    modules = [
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for package in PACKAGES
        for p in sorted((REPO / package).rglob("*.py"))
        if p.name != "__main__.py"
    ]
    probe = (
        "import importlib, sys, jax\n"
        "from hydra.core.config_store import ConfigStore\n"
        "before = jax.config.jax_compilation_cache_dir\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "assert 'config_schema.yaml' not in ConfigStore.instance().repo, 'registered on import'\n"
        "assert jax.config.jax_compilation_cache_dir == before, 'JAX option set on import'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_stages_are_matched_most_specific_first():
    assert _stage("pipeline.infra.config") < _stage("pipeline.train.loop")
    assert _stage("pipeline.evaluate.ratings") < _stage("analysis.tradeoffs")
    assert _stage("analysis.report.figures") < _stage("pipeline.reproduce")
    assert _stage("agents.search.loop") < _stage("pipeline.infra.snapshot")
