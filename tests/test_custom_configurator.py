"""A family or model file names its own ModelConfigurator; bad targets are clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

from spyre_hydra import DefaultConfigurator, ModelConfigurator
from spyre_hydra.catalog.configurator import DeviceSettings, make_configurator
from spyre_hydra.catalog.registry import get_model_registry
from spyre_hydra.errors import ConfigValidationError

PKG = "spyre_user_configurators"
USER_CODE = """
from spyre_hydra import DefaultConfigurator, ModelConfigurator
from spyre_hydra.catalog.configurator import DeviceSettings


class ExtraEnv(DefaultConfigurator):
    # adds env vars of its own to every layout the catalog configures
    def __init__(self, model_name, device_configs, strict=None, extra_env=None):
        super().__init__(model_name, device_configs, strict)
        self.extra_env = dict(extra_env or {})

    def get_device_config(self, tp_size):
        base = super().get_device_config(tp_size)
        if base is None:
            return None
        return DeviceSettings({**base.env_vars, **self.extra_env},
                              base.num_gpu_blocks_override, base.max_num_batched_tokens)


class NotAConfigurator:
    pass


class Broken(ModelConfigurator):
    def __init__(self, model_name, device_configs, strict=None):
        raise RuntimeError("cannot read my settings")
"""
MODEL = """
defaults:
  - family/base@_here_
  - _self_
hf_id: user/custom-tiny
family: tiny
path: builtin:tiny_granite
architecture: {{model_type: granite, num_hidden_layers: 3, hidden_size: 128}}
continuous_batching_configs:
  - {{tp_size: 1, max_model_len: 512, max_num_seqs: 4}}
device_configs:
  tp1: {{env_vars: {{SPYRE_USER_BASE: "1"}}}}
{configurator}
"""
GOOD = f"configurator: {{_target_: {PKG}.ExtraEnv, extra_env: {{SPYRE_USER_FLAG: 'on'}}}}"


@pytest.fixture
def user_pkg(tmp_path, monkeypatch):
    """A user package on sys.path (and PYTHONPATH for subprocesses); forgotten afterwards."""
    root = tmp_path / "site"
    (root / PKG).mkdir(parents=True)
    (root / PKG / "__init__.py").write_text(USER_CODE)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("SPYRE_HYDRA_ALLOW_CUSTOM_CODE", "1")  # user code: opted in
    monkeypatch.delitem(sys.modules, PKG, raising=False)
    yield root
    sys.modules.pop(PKG, None)


def user_conf(tmp_path, configurator: str = GOOD):
    conf = tmp_path / "conf"
    (conf / "model").mkdir(parents=True, exist_ok=True)
    path = conf / "model" / "custom_tiny.yaml"
    path.write_text(MODEL.format(configurator=configurator))
    return conf, path


def fake(tp=1):
    hf = SimpleNamespace(model_type="granite", num_hidden_layers=3, hidden_size=128)
    return SimpleNamespace(model_config=SimpleNamespace(hf_config=hf, max_model_len=512),
                           parallel_config=SimpleNamespace(world_size=tp),
                           scheduler_config=SimpleNamespace(max_num_seqs=4,
                                                            max_num_batched_tokens=None),
                           cache_config=SimpleNamespace(num_gpu_blocks_override=None))


def test_default_configurator_is_a_model_configurator():
    assert issubclass(DefaultConfigurator, ModelConfigurator)
    plain = make_configurator({"hf_id": "x"}, {1: DeviceSettings({"A": 1})}, strict=False)
    assert type(plain) is DefaultConfigurator
    assert plain.configure(fake(), environ=(env := {})).env_vars["A"].applied == "1"
    assert env == {"A": "1"}


def test_registry_returns_the_named_configurator(user_pkg, tmp_path):
    conf, _ = user_conf(tmp_path)
    registry = get_model_registry(conf)
    configurator = registry.get_configurator("custom_tiny", sendnn_version="none")
    assert type(configurator).__name__ == "ExtraEnv"
    assert configurator.extra_env == {"SPYRE_USER_FLAG": "on"}
    env: dict[str, str] = {}
    summary = configurator.configure(fake(), environ=env)
    assert env == {"SPYRE_USER_BASE": "1", "SPYRE_USER_FLAG": "on"}
    assert "SPYRE_USER_FLAG=on ✓" in summary.format_log_message()
    runtime = registry.get_configurator_for_runtime(fake(), sendnn_version="none", strict=True)
    assert type(runtime).__name__ == "ExtraEnv"
    assert runtime.preview(fake(), environ={}).env_vars["SPYRE_USER_FLAG"].default == "on"


BAD = [
    pytest.param(f"configurator: {{_target_: {PKG}.Missing}}",
                 rf"{PKG}\.Missing' cannot be imported .*Fix: install the package", id="no-attr"),
    pytest.param("configurator: {_target_: no_such_pkg_4711.Thing}",
                 r"'no_such_pkg_4711\.Thing' cannot be imported", id="no-module"),
    pytest.param(f"configurator: {{_target_: {PKG}.NotAConfigurator}}",
                 rf"{PKG}\.NotAConfigurator' is not a subclass of spyre_hydra\.ModelConfigurator"
                 r".*Fix: derive it", id="not-subclass"),
    pytest.param(f"configurator: {{_target_: {PKG}.ExtraEnv, colour: red}}",
                 rf"{PKG}\.ExtraEnv' does not accept the keys \['colour'\]", id="bad-kwargs"),
    pytest.param("configurator: {extra_env: {}}", r"names no class", id="no-target"),
    pytest.param("configurator: {_target_: os.getcwd}",
                 r"'os\.getcwd' is not a subclass of spyre_hydra\.ModelConfigurator",
                 id="a-function"),
    pytest.param("configurator: {_target_: '${oc.env:HOME}'}", r"is not a dotted class name",
                 id="interpolation-text"),
]


@pytest.mark.parametrize("node,message", BAD)
def test_bad_target_is_a_clean_error_at_catalog_load(user_pkg, tmp_path, node, message):
    conf, path = user_conf(tmp_path, node)
    with pytest.raises(ConfigValidationError, match=message) as info:
        get_model_registry(conf)
    text = str(info.value)
    assert f"custom_tiny.configurator._target_ (in {path})" in text


def test_failing_init_is_a_clean_error(user_pkg, tmp_path):
    conf, path = user_conf(tmp_path, f"configurator: {{_target_: {PKG}.Broken}}")
    registry = get_model_registry(conf)  # the class is fine; building it fails
    with pytest.raises(ConfigValidationError, match=rf"{PKG}\.Broken could not be built: "
                       r"RuntimeError: cannot read my settings\..*Fix: fix the configurator"):
        registry.get_configurator("custom_tiny", sendnn_version="none")


def test_make_configurator_names_the_given_file_for_a_tree():
    tree = {"hf_id": "x", "configurator": {"_target_": "no_such_pkg_4711.Thing"}}
    with pytest.raises(ConfigValidationError,
                       match=r"model\.configurator\._target_ \(in conf/model/x\.yaml\)"):
        make_configurator(tree, {}, False, where="conf/model/x.yaml", allow_code=True)


def _cli(h, prog, args, user_pkg, cwd):
    return h.run_cli(args, cwd, prog=prog, PYTHONPATH=str(user_pkg))


def test_cli_loads_the_user_configurator_without_vllm(h, user_pkg, tmp_path):
    conf, _ = user_conf(tmp_path)
    listed = _cli(h, "spyre-hydra", ["list", "--config-dir", str(conf), "--format", "json"],
                  user_pkg, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "user/custom-tiny" in listed.stdout
    code = textwrap.dedent(f"""
        import sys
        from spyre_hydra.catalog.registry import get_model_registry
        c = get_model_registry({str(conf)!r}).get_configurator("custom_tiny", "none")
        print(type(c).__name__, "vllm" in sys.modules, "torch" in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=h.clean_env(PYTHONPATH=str(user_pkg)), timeout=120)
    assert proc.stdout.split() == ["ExtraEnv", "False", "False"], proc.stderr


def test_cli_bad_target_exits_2_without_traceback(h, user_pkg, tmp_path):
    conf, path = user_conf(tmp_path, f"configurator: {{_target_: {PKG}.NotAConfigurator}}")
    proc = _cli(h, "spyre-hydra", ["list", "--config-dir", str(conf)], user_pkg, tmp_path)
    assert proc.returncode == 2
    assert f"{PKG}.NotAConfigurator' is not a subclass" in proc.stderr
    assert str(path) in proc.stderr and "Fix:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_launch_plan_uses_the_user_configurator(h, user_pkg, tmp_path):
    conf, _ = user_conf(tmp_path)
    proc = _cli(h, "spyre-launch", ["--config-dir", str(conf), "model=custom_tiny",
                                    "backend=eager", "mode=plan"], user_pkg, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["env"]["SPYRE_USER_FLAG"] == "on"
    bad, path = user_conf(tmp_path, f"configurator: {{_target_: {PKG}.NotAConfigurator}}")
    proc = _cli(h, "spyre-launch", ["--config-dir", str(bad), "model=custom_tiny",
                                    "backend=eager", "mode=plan"], user_pkg, tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"(in {path}): '{PKG}.NotAConfigurator' is not a subclass" in proc.stderr
