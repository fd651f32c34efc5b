"""The built wheel contains exactly the package, its typing marker and metadata."""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("tracewire-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_maps_core_to_the_tracewire_package(wheel: zipfile.ZipFile) -> None:
    """Every module under core/ ships as tracewire/..., with py.typed."""
    names = set(wheel.namelist())
    expected = {
        "tracewire/" + path.relative_to(ROOT / "core").as_posix()
        for path in (ROOT / "core").rglob("*.py")
    }
    assert expected <= names
    assert "tracewire/py.typed" in names


def test_every_integration_folder_is_a_declared_plugin(wheel: zipfile.ZipFile) -> None:
    """Each integrations/<x>/ ships as tracewire.<x> and is an entry point of the `tracewire` group.

    Built-in integrations are found through the same entry-point group as third-party plugins, so a
    folder without its entry point would silently never load.
    """
    folders = sorted(
        p.name for p in (ROOT / "integrations").iterdir() if (p / "__init__.py").exists()
    )
    entry_points = configparser.ConfigParser(delimiters=("=",))
    entry_points.optionxform = str  # keep entry-point names' case
    for name in wheel.namelist():
        if name.endswith(".dist-info/entry_points.txt"):
            entry_points.read_string(wheel.read(name).decode())
    declared = dict(entry_points["tracewire"]) if entry_points.has_section("tracewire") else {}
    assert declared == {name: f"tracewire.{name}._plugin" for name in folders}
    names = set(wheel.namelist())
    assert all(f"tracewire/{name}/__init__.py" in names for name in folders)


def test_wheel_ships_no_tests_benchmarks_or_cassettes(wheel: zipfile.ZipFile) -> None:
    """Only the package and its metadata are in the wheel."""
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert tops == {"tracewire", next(t for t in tops if t.endswith(".dist-info"))}


def test_wheel_metadata_declares_only_light_dependencies(wheel: zipfile.ZipFile) -> None:
    """Runtime requirements are wrapt, pluggy and packaging; everything else is an extra."""
    metadata_name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = wheel.read(metadata_name).decode()
    requires = [
        line.split(":", 1)[1].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert sorted(r.split(">")[0].split("=")[0].strip() for r in requires) == [
        "packaging",
        "pluggy",
        "wrapt",
    ]


@pytest.mark.parametrize("editable", [False, True], ids=["regular", "editable"])
def test_pip_install_gives_an_importable_package(
    editable: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``pip install .`` and ``pip install -e .`` both give a working ``import tracewire``."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    target = ["-e", str(ROOT)] if editable else [str(ROOT)]
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *target],
        check=True,
        capture_output=True,
        timeout=300,
    )
    check = (
        "import tracewire, tracewire.entities, tracewire.tracing.constant\n"
        "with tracewire.start_span('s'):\n    pass\n"
        "print(tracewire.get_trace(tracewire.get_last_active_trace_id()).info.state.value)\n"
    )
    result = subprocess.run(
        [str(python), "-c", check], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "OK"
