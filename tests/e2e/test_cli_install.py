"""`pip install .` gives the `prachar` command: the wheel holds the command line, the domain code its checks run and
the starter templates, and its entry point runs from the installed copy (not from this checkout)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_installs_a_working_prachar_command(tmp_path):
    # Built from a copy of what the wheel is made of: setuptools writes build/ and *.egg-info into the source tree.
    source = tmp_path / "source"
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("prachar_cli", "chalicelib"):
        shutil.copytree(ROOT / part, source / part, ignore=ignored)
    shutil.copy(ROOT / "pyproject.toml", source / "pyproject.toml")
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-w", str(wheels), str(source)], check=True, cwd=tmp_path)
    [wheel] = wheels.glob("prachar-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"prachar_cli/main.py", "prachar_cli/templates/manifest.yaml", "chalicelib/domain/vetting.py",
            "chalicelib/domain/manifest.py"} <= names
    assert not any(name.startswith(("tests/", "local/", "infra/", "bench/")) for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "prachar = prachar_cli.main:cli" in zipfile.ZipFile(wheel).read(entry_points).decode()

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
                    "--target", str(site), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": str(site), "PRACHAR_HOME": str(tmp_path / "home")}
    command = [sys.executable, str(site / "bin" / "prachar")]
    assert "upload" in subprocess.run([*command, "--help"], capture_output=True, text=True, env=env,
                                      check=True, cwd=tmp_path).stdout
    where = subprocess.run([sys.executable, "-c", "import prachar_cli; print(prachar_cli.__file__)"],
                           capture_output=True, text=True, env=env, check=True, cwd=tmp_path).stdout
    assert where.startswith(str(site)), "the installed copy runs"
    subprocess.run([*command, "template", "manifest", "--out", str(tmp_path / "post.yaml")], env=env, check=True,
                   cwd=tmp_path, capture_output=True)
    assert "title:" in (tmp_path / "post.yaml").read_text("utf-8")
