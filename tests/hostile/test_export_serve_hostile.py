"""export-serve bundles as a hostile user would feed them: output paths and env values that
look like shell code, env var names that are commands, and existing things at --out."""

from __future__ import annotations

import subprocess
import textwrap

import hostile_helpers as helpers
import pytest
import yaml

SHELLISH = ["d$(touch PWNED)", "d`touch PWNED`", "d;touch PWNED", "d'$(touch PWNED)'",
            'd"$(touch PWNED)"', "d with space", "d$HOME", "d\\$(touch PWNED)"]


def _source(env_sh, cwd) -> dict[str, str]:
    """Source env.sh in a clean POSIX shell and return the exported environment."""
    script = f". {env_sh!s}\nenv -0"
    proc = subprocess.run(["sh", "-c", script], cwd=cwd, capture_output=True, env={},
                          check=True)
    pairs = (item.split(b"=", 1) for item in proc.stdout.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode() for k, v in pairs}


@pytest.mark.parametrize("name", SHELLISH)
def test_out_paths_that_look_like_code_are_data(tmp_path, capsys, name):
    out = tmp_path / name
    code, _, err = helpers.run_tool(capsys, "export-serve", "model=granite_8b", "device=tp4",
                                    "--out", out)
    assert code == 0, err
    env = _source("'" + str(out / "env.sh").replace("'", "'\\''") + "'", tmp_path)
    assert not list(tmp_path.rglob("PWNED"))
    assert env["SENDNN_INFERENCE_MODEL_CONFIG_FILE"] == str(out / "model_configs.yaml")


def _user_model(conf, env_vars: str) -> None:
    (conf / "model").mkdir(parents=True)
    (conf / "model" / "evil.yaml").write_text(textwrap.dedent(f"""\
        defaults:
          - family/granite_33_8b@_here_
          - _self_
        hf_id: my-org/evil
        architecture: {{vocab_size: 1}}
        device_configs:
          tp4:
            env_vars: {env_vars}
        """))


@pytest.mark.parametrize("value", ["$(touch PWNED)", "`touch PWNED`", "x; touch PWNED",
                                   "'; touch PWNED; '", "\\\\$(touch PWNED)"])
def test_env_values_that_look_like_code_are_exported_verbatim(tmp_path, capsys, value):
    conf = tmp_path / "conf"
    _user_model(conf, yaml.safe_dump({"EVIL": value}, default_flow_style=True).strip())
    out = tmp_path / "b"
    code, _, err = helpers.run_tool(capsys, "export-serve", "model=evil", "device=tp4",
                                    "--config-dir", conf, "--out", out)
    assert code == 0, err
    env = _source(str(out / "env.sh"), tmp_path)
    assert not list(tmp_path.rglob("PWNED"))
    assert env["EVIL"] == value


@pytest.mark.parametrize("name", ["X=1; touch PWNED", "$(touch PWNED)", "1X", "A B", "A-B"])
def test_env_names_that_are_commands_are_refused_before_any_write(tmp_path, capsys, name):
    conf = tmp_path / "conf"
    _user_model(conf, yaml.safe_dump({name: "1"}, default_flow_style=True).strip())
    out = tmp_path / "b"
    before = helpers.snapshot(tmp_path)
    code, _, err = helpers.run_tool(capsys, "export-serve", "model=evil", "device=tp4",
                                    "--config-dir", conf, "--out", out)
    helpers.clean_error(code, err, "env_vars")
    assert helpers.snapshot(tmp_path) == before and not out.exists()


@pytest.mark.parametrize("kind", helpers.KINDS)
def test_existing_things_at_a_bundle_file_are_never_replaced(tmp_path, capsys, kind):
    out = tmp_path / "b"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    helpers.make_kind(out / "env.sh", kind, victim)
    before = helpers.snapshot(tmp_path)
    code, _, err = helpers.run_tool(capsys, "export-serve", "model=granite_8b", "--out", out,
                                    "--force")
    helpers.clean_error(code, err, "env.sh")
    assert helpers.snapshot(tmp_path) == before  # no half bundle, the victim untouched
