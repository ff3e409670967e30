"""environment.yml (conda) and pyproject.toml (pip) must list the same dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI's.
CONDA_NAMES = {"isal": "python-isal", "xxhash": "python-xxhash"}
# moto[server] on PyPI is moto plus its server extras on conda-forge.
CONDA_EXTRAS = {"moto": {"flask", "flask-cors"}}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)$", req)
    assert m, f"cannot parse requirement {req!r}"
    return m[1].lower(), m[3].replace(" ", "")


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"]) + list(
        data["project"]["optional-dependencies"]["test"]
    )
    return dict(_split(r) for r in reqs)


def _environment() -> tuple[dict[str, str], list]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip.extend(dep.get("pip", []))
            continue
        name, spec = _split(dep.replace("=", "==", 1) if re.match(r"^[\w.-]+=[^=]", dep) else dep)
        conda[name] = spec
    return conda, pip


def test_environment_matches_pyproject() -> None:
    wanted = _pyproject()
    conda, pip = _environment()
    for name, spec in wanted.items():
        conda_name = CONDA_NAMES.get(name, name)
        assert conda_name in conda, f"{name} is in pyproject.toml but not environment.yml"
        assert conda[conda_name] == spec, (
            f"{name}: pyproject.toml says {spec!r}, environment.yml says {conda[conda_name]!r}"
        )
    allowed = {CONDA_NAMES.get(n, n) for n in wanted} | {"python", "pip"}
    allowed |= {x for n in wanted for x in CONDA_EXTRAS.get(n, set())}
    extra = sorted(set(conda) - allowed)
    assert not extra, f"environment.yml lists {extra}, which pyproject.toml does not"
    assert "-e ." in pip, "environment.yml must install the project itself with pip: [-e .]"


def test_python_versions_agree() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    conda, _ = _environment()
    assert data["project"]["requires-python"] == ">=3.11"
    assert conda["python"] == "==3.11"
