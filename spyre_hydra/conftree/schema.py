"""Typed schema of the composed tree: dataclasses stored in Hydra's ConfigStore.

The dataclasses are the single description of what a valid tree looks like. They are not put
in `conf/config.yaml`'s defaults list on purpose: Hydra would stop at the first type error,
while :func:`spyre_hydra.catalog.validate.validate_tree` walks the same dataclasses and reports every
problem at once. Each field has a one-line docstring (shown by `spyre-hydra schema`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING

RUNTIMES = ("cb", "static")
# Modes and backends are tables, not tuples here: the registered modes
# (spyre_hydra.conftree.modes) and the conf/backend/*.yaml files of the conf roots
# (spyre_hydra.conftree.backends). `mode` and `backend.name` stay `str` fields because both
# tables are open (a registered mode, a user's backend file) and OmegaConf's structured
# configs take no Literal; the plan checks validate them against the tables.


@dataclass
class CBEntry:
    tp_size: int = MISSING
    """Tensor parallel size (number of Spyre cards) of this continuous-batching layout."""
    max_model_len: int = MISSING
    """Longest sequence (prompt plus generated tokens) the layout is compiled for."""
    max_num_seqs: int = MISSING
    """Number of sequences batched together."""
    device_config: Optional[DeviceSettings] = None
    """This entry's own device settings, replacing device_configs.<tp> for it ({}: none)."""


@dataclass
class StaticEntry:
    tp_size: int = MISSING
    """Tensor parallel size of this static-batching layout."""
    warmup_shapes: List[List[int]] = MISSING
    """Compiled shapes, each [prompt_len, new_tokens, batch_size] or [prompt_len, batch_size]."""


@dataclass
class ChunkedPrefill:
    max_num_batched_tokens: Optional[int] = None
    """Tokens per prefill chunk; unset keeps vLLM's value."""


@dataclass
class DeviceSettings:
    env_vars: Dict[str, Any] = field(default_factory=dict)
    """Environment variables set before the engine starts (an existing value wins)."""
    num_gpu_blocks_override: Any = None
    """KV-cache blocks: an int, or {PEP 440 specifier: int, default: int} by torch_sendnn."""
    chunked_prefill_config: Optional[ChunkedPrefill] = None
    """Chunked prefill settings for this layout."""


@dataclass
class ProfileSpec:
    """A measured layout of a model (written by `spyre-hydra tune`), chosen with profile=."""

    device: str = MISSING
    """Device option the layout runs on (tp1, tp2, tp4)."""
    runtime: str = MISSING
    """Batching mode of the layout: cb or static."""
    max_model_len: Optional[int] = None
    """Continuous batching: longest sequence."""
    max_num_seqs: Optional[int] = None
    """Continuous batching: sequences per batch."""
    warmup_shapes: Optional[List[List[int]]] = None
    """Static batching: the [prompt_len, new_tokens, batch_size] shapes."""
    engine_args: Dict[str, Any] = field(default_factory=dict)
    """vLLM EngineArgs fields the layout was measured with."""
    id: str = MISSING
    """Content hash of the model, the layout and its evidence (date excluded)."""
    evidence: Dict[str, Any] = field(default_factory=dict)
    """How it was chosen: SLO, objective, measured figures, sweep fingerprint, versions, date."""


@dataclass
class ModelSpec:
    hf_id: str = MISSING
    """Hugging Face id (or catalog name) of the model."""
    family: str = MISSING
    """Family label, shown in listings."""
    path: Optional[str] = None
    """Checkpoint to load instead of hf_id: a local directory or builtin:<name>."""
    architecture: Dict[str, Any] = MISSING
    """HF config attributes that must all be equal for a checkpoint to match."""
    platforms: List[str] = field(default_factory=list)
    """CPU architectures the entry is validated on; empty means all."""
    continuous_batching_configs: List[CBEntry] = field(default_factory=list)
    """Supported continuous-batching layouts."""
    static_batching_configs: List[StaticEntry] = field(default_factory=list)
    """Supported static-batching layouts."""
    device_configs: Dict[str, DeviceSettings] = field(default_factory=dict)
    """Per device option (tp1, tp2, tp4): the settings applied with a supported CB layout."""
    priority: int = 0
    """Breaks ties between identical patterns: the higher priority wins."""
    configurator: Optional[Dict[str, Any]] = None
    """{_target_: pkg.Class, ...}: a ModelConfigurator subclass replacing DefaultConfigurator."""
    profiles: Dict[str, ProfileSpec] = field(default_factory=dict)
    """Measured layouts by name (throughput, latency, balanced), chosen with profile=<name>."""


@dataclass
class DeviceSpec:
    name: str = MISSING
    """Device option name; model files key their settings by it."""
    tp_size: int = MISSING
    """Tensor parallel size: the number of Spyre cards."""


@dataclass
class SendnnVersionSpec:
    version: Optional[str] = None
    """torch_sendnn version used to pick version-dependent values ('none' = not installed)."""


@dataclass
class RuntimeSpec:
    name: str = "cb"
    """Batching mode: cb (continuous) or static."""
    max_model_len: Optional[int] = None
    """Continuous batching: longest sequence."""
    max_num_seqs: Optional[int] = None
    """Continuous batching: sequences per batch."""
    warmup_shapes: Optional[List[List[int]]] = field(default_factory=list)
    """Static batching: [prompt_len, new_tokens, batch_size] shapes to compile."""


@dataclass
class BackendSpec:
    name: str = "auto"
    """Execution backend: a conf/backend/<name>.yaml of the conf roots (auto: detected)."""
    description: str = ""
    """One line on what the backend runs on (spyre-hydra list, --help)."""
    spyre_plugin: bool = False
    """Whether the Spyre plugin runs: the launch adds a free MASTER_PORT and the catalog."""
    detect: Optional[Dict[str, Any]] = None
    """{installed: [distributions], rank: N}: picked by backend=auto when one is installed."""
    env: Dict[str, Any] = field(default_factory=dict)
    """Environment the backend needs, set before vLLM or torch is imported."""
    engine_args: Dict[str, Any] = field(default_factory=dict)
    """EngineArgs fields the backend needs (top-level engine_args entries win)."""


@dataclass
class ServeSpec:
    host: str = "127.0.0.1"
    """Address the OpenAI-compatible server binds to."""
    port: int = 8000
    """Port the server listens on."""


@dataclass
class SelectedSpec:
    env: Dict[str, Any] = field(default_factory=dict)
    """Env vars of the model's settings for the chosen device."""
    num_gpu_blocks_override: Optional[int] = None
    """Block count for the chosen device and torch_sendnn version."""
    max_num_batched_tokens: Optional[int] = None
    """Chunked-prefill size for the chosen device."""


@dataclass
class LaunchConfig:
    model: ModelSpec = MISSING
    """The catalog entry chosen with model=<option>."""
    device: DeviceSpec = MISSING
    """The card layout chosen with device=<option>."""
    sendnn_version: SendnnVersionSpec = field(default_factory=SendnnVersionSpec)
    """The torch_sendnn version chosen with sendnn_version=<option>."""
    runtime: RuntimeSpec = field(default_factory=RuntimeSpec)
    """The batching mode chosen with runtime=<option>."""
    backend: BackendSpec = field(default_factory=BackendSpec)
    """The execution backend chosen with backend=<option>."""
    mode: str = "generate"
    """What to do: a registered mode (plan, config, generate, serve, bench; --help lists them)."""
    strict: bool = False
    """Turn conflicts, unknown models and unsupported runtimes into errors."""
    allow_unsupported_platform: bool = False
    """Run a model whose platforms exclude this machine (with a warning)."""
    model_path: Optional[str] = None
    """With model=auto: the checkpoint directory whose config.json picks the model."""
    profile: Optional[str] = None
    """A measured layout of the model to run: model.profiles.<name> (explicit overrides win)."""
    engine_args: Dict[str, Any] = field(default_factory=dict)
    """Extra vLLM EngineArgs fields, passed through by name."""
    prompts: List[str] = field(default_factory=list)
    """mode=generate: prompts to complete."""
    prompts_file: Optional[str] = None
    """mode=generate: a file with one prompt per line (replaces prompts)."""
    max_tokens: int = 16
    """mode=generate: tokens to generate per prompt."""
    serve: ServeSpec = field(default_factory=ServeSpec)
    """mode=serve: where the server listens."""
    selected: SelectedSpec = field(default_factory=SelectedSpec)
    """Derived by interpolation: the model's settings for this device and version."""
    sweep: Optional[Dict[str, Any]] = None
    """Sweep options (+sweep=<name>): skip_unsupported and the named sweep's parameters."""
    bench: Optional[Dict[str, Any]] = None
    """mode=bench (sweeps): serving-benchmark parameters (concurrency, rate, lengths)."""


_stored = False


def store_schemas() -> None:
    """Put the schemas in Hydra's ConfigStore once (group `schema`), for Hydra users."""
    global _stored
    if _stored:
        return
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="launch", node=LaunchConfig, group="schema")
    cs.store(name="model", node=ModelSpec, group="schema")
    cs.store(name="device", node=DeviceSpec, group="schema")
    cs.store(name="runtime", node=RuntimeSpec, group="schema")
    _stored = True
