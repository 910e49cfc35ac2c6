"""Files a single launch reads (prompts_file, model=auto's config.json, model.path): every
kind of non-regular or oversized file is refused at plan time, bounded, with a fix."""

from __future__ import annotations

import json

import hostile_helpers as helpers
import pytest

READ_KINDS = ("symlink_loop", "dangling_symlink", "directory", "fifo", "device", "socket")


def _launch(capsys, *args):
    from spyre_hydra.cli.launch import main

    with pytest.raises(SystemExit) as exc:
        main(["mode=plan", *map(str, args)])  # a later mode=generate wins
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.mark.parametrize("kind", READ_KINDS)
def test_prompts_file_of_every_kind_is_refused(tmp_path, capsys, kind):
    path = tmp_path / "prompts.txt"
    helpers.make_kind(path, kind, tmp_path / "victim")
    before = helpers.snapshot(tmp_path)
    code, out, err = _launch(capsys, f"prompts_file={path}", "mode=generate")
    helpers.clean_error(code, err, "prompts_file", path)
    assert out == "" and helpers.snapshot(tmp_path) == before


@pytest.mark.parametrize("content,why", [
    (b"\0" * 64, "is binary"), (b"\xff\xfe prompt\n", "is not UTF-8 text"),
    (b"x" * ((10 << 20) + 1), "over the 10485760-byte limit")])
def test_prompts_file_binary_or_huge_is_refused(tmp_path, capsys, content, why):
    path = tmp_path / "prompts.txt"
    path.write_bytes(content)
    code, _, err = _launch(capsys, f"prompts_file={path}", "mode=generate")
    helpers.clean_error(code, err, "prompts_file")
    assert why in err


def test_dev_zero_as_prompts_file_is_refused_at_once(capsys):
    code, _, err = _launch(capsys, "prompts_file=/dev/zero", "mode=generate")
    helpers.clean_error(code, err, "/dev/zero", "character device")


@pytest.mark.parametrize("kind", ("fifo", "device", "directory", "symlink_loop"))
def test_model_auto_config_json_of_every_kind_is_refused(tmp_path, capsys, kind):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    helpers.make_kind(ckpt / "config.json", kind, tmp_path / "victim")
    code, _, err = _launch(capsys, "model=auto", f"model_path={ckpt}")
    helpers.clean_error(code, err, "config.json")


@pytest.mark.parametrize("text", ['{"model_type": "granite", "x": "${oc.env:HOME}"}',
                                  '{"model_type": "${oc.env:HOME}"}', "[1, 2]", "{"])
def test_model_auto_config_json_data_is_never_code(tmp_path, capsys, text):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(text)
    code, out, err = _launch(capsys, "model=auto", f"model_path={ckpt}")
    assert code == 2 and "Traceback" not in err and "Fix:" in err
    assert "/root" not in err  # ${oc.env:HOME} was never resolved


def test_model_auto_config_json_over_the_cap(tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"model_type": "granite",
                                                   "pad": "x" * (11 << 20)}))
    code, _, err = _launch(capsys, "model=auto", f"model_path={ckpt}")
    helpers.clean_error(code, err, "config.json")
