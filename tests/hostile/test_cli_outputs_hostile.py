"""export-legacy / import-legacy at hostile output paths: exit 2, a message naming the path
and a fix, and nothing outside the expected output changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hostile_helpers import KINDS, changed, clean_error, make_kind, run_tool, snapshot

LEGACY = Path(__file__).resolve().parents[1] / "data" / "legacy"
SEED = LEGACY / "seed_schema.yaml"
EXPORT = ("export-legacy", "--sendnn-version", "1.0.3", "--out")


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
@pytest.mark.parametrize("kind", KINDS)
def test_export_legacy_refuses_odd_out(tmp_path, capsys, kind, force):
    victim = tmp_path / "victim.yaml"
    victim.write_text("precious: 1\n")
    out = tmp_path / "m.yaml"
    make_kind(out, kind, victim)
    before = snapshot(tmp_path)
    code, _, err = run_tool(capsys, *EXPORT, out, *force)
    clean_error(code, err, out)
    assert changed(before, snapshot(tmp_path)) == []


def test_export_legacy_edited_needs_force(tmp_path, capsys):
    out = tmp_path / "m.yaml"
    assert run_tool(capsys, *EXPORT, out)[0] == 0
    assert run_tool(capsys, *EXPORT, out)[0] == 0  # its own unchanged file: replaced
    out.write_text(out.read_text() + "# local tweak\n")
    before = snapshot(tmp_path)
    code, _, err = run_tool(capsys, *EXPORT, out)
    clean_error(code, err, out, "--force")
    assert changed(before, snapshot(tmp_path)) == []
    assert run_tool(capsys, *EXPORT, out, "--force")[0] == 0
    assert "# local tweak" not in out.read_text()


@pytest.mark.parametrize("name", ["dir$(touch x)", "a;touch x", "`touch x`", "sp ace",
                                  "new\nline", "quote'\"", "${oc.env:HOME}", "-dash"])
def test_shell_metacharacters_in_out_path_are_just_names(tmp_path, capsys, name):
    out = tmp_path / name / "m.yaml"
    code, stdout, err = run_tool(capsys, *EXPORT, out)
    assert code == 0, err
    assert yaml.safe_load(out.read_text())["models"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no x, no stray dirs
    assert not Path("x").exists()


def _src_in(folder: Path) -> Path:
    src = folder / "model_configs.yaml"
    src.write_text(SEED.read_text())
    return src


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_import_into_the_source_dir_keeps_source_and_notes(tmp_path, capsys, force):
    d = tmp_path / "d"
    d.mkdir()
    src = _src_in(d)
    for name in ("README.md", "notes.md", "keep.txt"):
        (d / name).write_text(f"{name}\n")
    before = snapshot(d)
    code, _, err = run_tool(capsys, "import-legacy", src, "--out", d, *force)
    assert code == 0, err
    after = snapshot(d)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing touched
    assert all(k.startswith(("model", "device", "spyre_hydra_catalog.yaml", ".spyre_hydra_"))
               for k in after.keys() - before.keys())


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_import_never_replaces_its_source_inside_the_tree(tmp_path, capsys, force):
    out = tmp_path / "out"
    options = run_tool(capsys, "import-legacy", SEED, "--out", out)
    assert options[0] == 0
    src = next((out / "model").glob("*.yaml"))  # a file import-legacy wrote, now the input
    src.write_text(SEED.read_text())
    before = snapshot(tmp_path)
    code, _, err = run_tool(capsys, "import-legacy", src, "--out", out, *force)
    clean_error(code, err, src, "input being read")
    assert changed(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
@pytest.mark.parametrize("kind", KINDS)
def test_import_half_bundle_is_refused(tmp_path, capsys, kind, force):
    out = tmp_path / "out"
    assert run_tool(capsys, "import-legacy", SEED, "--out", out)[0] == 0
    victim = tmp_path / "victim"
    victim.write_text("v")
    first = sorted((out / "model").glob("*.yaml"))[0]
    first.unlink()
    make_kind(first, kind, victim)
    before = snapshot(tmp_path)
    code, _, err = run_tool(capsys, "import-legacy", SEED, "--out", out, *force)
    if kind == "foreign_file" and force:  # its name is in the manifest: an edited own file
        assert code == 0 and changed(before, snapshot(tmp_path)) == [
            str(first.relative_to(tmp_path))]
        return
    clean_error(code, err, first)
    assert changed(before, snapshot(tmp_path)) == []


def test_foreign_conf_file_would_mix_into_the_catalog(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "model").mkdir(parents=True)
    (out / "model" / "mine.yaml").write_text("hf_id: my/model\n")
    before = snapshot(tmp_path)
    code, _, err = run_tool(capsys, "import-legacy", SEED, "--out", out, "--force")
    clean_error(code, err, "mine.yaml", "did not write")
    assert changed(before, snapshot(tmp_path)) == []


def test_console_script_refuses_symlink_without_traceback(tmp_path, h):
    victim = tmp_path / "victim.yaml"
    victim.write_text("precious: 1\n")
    (tmp_path / "link.yaml").symlink_to(victim)
    before = snapshot(tmp_path)
    proc = h.run_cli(["export-legacy", "--out", "link.yaml"], tmp_path, prog="spyre-hydra")
    clean_error(proc.returncode, proc.stderr, "link.yaml", "symlink")
    assert changed(before, snapshot(tmp_path)) == []
    proc = subprocess.run([sys.executable, "-m", "spyre_hydra.cli.main", "import-legacy",
                           str(victim), "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert changed(before, snapshot(tmp_path)) == []
