"""The project around the package: set-up files that agree with each other, and a cheap import."""
import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name where they differ


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for group in [project["dependencies"], *project["optional-dependencies"].values()]
                  for r in group)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda, pip = {}, {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip.update(_split(r) for r in dep["pip"] if not r.startswith("-"))
        else:
            conda.update([_split(dep)])
    have = {**{name: spec for name, spec in conda.items() if name not in ("python", "pip")}, **pip}
    pypi_names = {CONDA_NAMES.get(n, n): n for n in wanted}
    have = {pypi_names.get(n, n): spec for n, spec in have.items()}
    assert have == wanted, "environment.yml and pyproject.toml list different packages or versions"
    assert conda["python"] == ">=" + project["requires-python"].removeprefix(">=")


def test_import_is_cheap_and_does_not_pull_heavy_libraries():
    code = (
        "import time, sys; t0 = time.perf_counter(); import torch; t1 = time.perf_counter(); before = set(sys.modules); "
        "import gptlab; t2 = time.perf_counter(); heavy = [m for m in ('transformers', 'matplotlib', 'tiktoken', "
        "'ipywidgets', 'tqdm', 'safetensors', 'numpy') if m in sys.modules and m not in before]; "
        "print(t2 - t1, t1 - t0, ','.join(heavy))"
    )
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
            for _ in range(2)]
    extra = min(float(r[0]) for r in runs)
    assert extra < 1.0, f"importing gptlab took {extra:.2f} s on top of torch"
    assert all(len(r) == 2 for r in runs), f"importing gptlab imported {runs[0][2:]}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make lab" in readme and "make test" in readme
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "make test"


def test_makefile_installs_a_pinned_torch_before_the_package():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^TORCH\s*\?=\s*torch==\d+\.\d+\.\d+", makefile, re.M), "torch must be pinned (no CUDA download)"
    assert makefile.index('"$(TORCH)"') < makefile.index('-e ".[course,test]"')


def gptlab_imports() -> dict[str, set[str]]:
    """Each gptlab module -> the gptlab modules it imports, wherever the import statement stands: an import
    inside a function is as much a dependency as one at the top, it is only paid for later."""
    package = ROOT / "gptlab"
    files = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in files.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name in files)
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                submodules = {f"{target}.{alias.name}" for alias in node.names} & files.keys()
                found.update(submodules or ({target} & files.keys()))
        graph[name] = found - {name}
    return graph


def first_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` (module -> modules it imports) as a path back to its start, or None."""
    state = {}  # module -> "open" while on the current path, "done" once everything it reaches is known

    def visit(module, path):
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            if state.get(dep) == "open":
                return path[path.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep, path + [dep])):
                return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def test_the_import_graph_and_the_cycle_finder_see_what_they_should():
    graph = gptlab_imports()
    assert "gptlab.model" in graph["gptlab.engine.decode"]  # the engine reads the model ...
    assert "gptlab.engine.decode" in graph["gptlab.generation"]
    assert "gptlab.hf" in graph["gptlab.cli"]  # ... and an import inside a function counts
    assert first_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert first_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_gptlab_has_no_import_cycles():
    """The model imports nothing of the package but its config (and the parameter counter); the engine, the
    loaders and generation import the model, never the other way round."""
    graph = gptlab_imports()
    assert graph["gptlab.model"] <= {"gptlab.config", "gptlab.params"}
    cycle = first_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
