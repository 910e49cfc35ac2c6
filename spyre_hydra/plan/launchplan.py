"""LaunchPlan: the typed, frozen result of composing and checking one launch.

The plan is everything a run needs: what vLLM is given, `strict`, the run inputs (prompts,
max_tokens, serve host/port, bench and sweep settings) and the conf roots it was composed
from. The engine, sweeps, the vLLM plugin, bundles and explain take a plan, never the
composed tree. `to_dict()` is the `mode=plan` JSON contract (every key of the older plan
dict keeps its meaning; provenance, versions, catalog_fingerprint, strict and inputs are
added); `from_dict` rebuilds the plan from it (a sweep's result.json, its worker process).
vLLM's VllmConfig for a plan is the engine's: spyre_hydra.engine.launchenv.vllm_config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: Engine args that mean "vLLM's (or the plugin's) default" when None.
DEFAULT_WHEN_NONE = ("num_gpu_blocks_override", "max_num_batched_tokens")


def _frozen(data: Mapping | None) -> Mapping:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class Provenance:
    """Where a plan came from."""

    choices: Mapping[str, str] = field(default_factory=dict)
    """config group -> chosen option (Hydra's runtime choices)."""
    files: Mapping[str, str] = field(default_factory=dict)
    """config group -> the conf file its option was read from."""
    overrides: tuple[str, ...] = ()
    """the overrides Hydra composed with, after pre-flight rewrites (model=auto, backend)."""
    conf_roots: tuple[str, ...] = ()
    """every conf directory searched, the user's first."""

    def to_dict(self) -> dict[str, Any]:
        return {"choices": dict(self.choices), "files": dict(self.files),
                "overrides": list(self.overrides), "conf_roots": list(self.conf_roots)}


@dataclass(frozen=True)
class RunInputs:
    """What a run reads besides the engine settings."""

    prompts: tuple[str, ...] = ()
    """mode=generate: the prompts (prompts_file read at plan time); empty for other modes."""
    max_tokens: int = 16
    """tokens to generate per prompt (generate; bench's default new_tokens for cb)."""
    serve_host: str = "127.0.0.1"
    """mode=serve: the address the server binds to."""
    serve_port: int = 8000
    """mode=serve: the port the server listens on."""
    bench: Mapping[str, Any] = field(default_factory=dict)
    """mode=bench: the bench.* settings."""
    sweep: Mapping[str, Any] = field(default_factory=dict)
    """the sweep.* options (repeats, skip_unsupported, ...) without the named sweep's params."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "prompts", tuple(str(p) for p in self.prompts))
        object.__setattr__(self, "bench", _frozen(self.bench))
        object.__setattr__(self, "sweep", _frozen(self.sweep))

    def to_dict(self) -> dict[str, Any]:
        return {"prompts": list(self.prompts), "max_tokens": self.max_tokens,
                "serve": {"host": self.serve_host, "port": self.serve_port},
                "bench": dict(self.bench), "sweep": dict(self.sweep)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "RunInputs":
        data = data or {}
        serve = data.get("serve") or {}
        return cls(tuple(data.get("prompts") or ()), int(data.get("max_tokens") or 16),
                   str(serve.get("host") or "127.0.0.1"), int(serve.get("port") or 8000),
                   data.get("bench") or {}, data.get("sweep") or {})


@dataclass(frozen=True)
class LaunchPlan:
    """One checked launch: what vLLM will be given and why."""

    model: str
    """catalog model name (the HF id)."""
    option: str
    """the model=<option> chosen."""
    tp_size: int
    """tensor parallel size (cards)."""
    sendnn_version: str
    """torch_sendnn version the version-dependent values were picked for (text)."""
    runtime: str
    """cb (continuous batching) or static (warmup shapes)."""
    mode: str
    """plan, config, generate or serve."""
    backend: str
    """sendnn, eager or cpu (auto only for sweep points that name none)."""
    args: Mapping[str, Any]
    """vLLM EngineArgs fields (JSON key: engine_args)."""
    env: Mapping[str, str]
    """the model's device env vars for this layout."""
    backend_env: Mapping[str, str]
    """the backend's static env vars (conf/backend/<name>.yaml)."""
    warmup_shapes: tuple[tuple[int, int, int], ...]
    """static runtime's [prompt_len, new_tokens, batch_size] shapes (empty for cb)."""
    supported: bool
    """whether the catalog has an entry for this exact layout."""
    summary: str
    """the configurator's log message."""
    conflicts: tuple[str, ...] = ()
    """values the user already set that differ from the model's defaults."""
    warnings: tuple[str, ...] = ()
    """non-fatal findings (unsupported layout without strict, platform, checkpoint)."""
    provenance: Provenance = field(default_factory=Provenance)
    """options, files and overrides this plan was composed from."""
    versions: Mapping[str, str] = field(default_factory=dict)
    """installed package versions (spyre_hydra.conftree.stamp.installed_versions)."""
    catalog_fingerprint: str = ""
    """sha256 of the conf trees searched (spyre_hydra.conftree.stamp.catalog_fingerprint)."""
    strict: bool = False
    """strict=true or SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG: computed once, at plan time."""
    inputs: RunInputs = field(default_factory=RunInputs)
    """prompts, max_tokens, serve host/port, bench and sweep settings of this run."""
    profile: Mapping[str, Any] | None = None
    """the model profile applied (profile=<name>): name, id, file, as_measured, overridden,
    evidence; None without profile=."""
    layout: str = ""
    """catalog-verified (a catalog entry), tune-measured (a profile run as measured) or
    neither."""

    def __post_init__(self) -> None:
        for name in ("args", "env", "backend_env", "versions"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "warmup_shapes",
                           tuple(tuple(int(x) for x in s) for s in self.warmup_shapes))
        object.__setattr__(self, "conflicts", tuple(self.conflicts))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    def to_dict(self) -> dict[str, Any]:
        """The `mode=plan` JSON object."""
        return {
            "model": self.model, "option": self.option, "tp_size": self.tp_size,
            "sendnn_version": self.sendnn_version, "runtime": self.runtime, "mode": self.mode,
            "backend": self.backend, "engine_args": dict(self.args), "env": dict(self.env),
            "backend_env": dict(self.backend_env),
            "warmup_shapes": [list(s) for s in self.warmup_shapes],
            "supported": self.supported, "summary": self.summary,
            "conflicts": list(self.conflicts), "warnings": list(self.warnings),
            "provenance": self.provenance.to_dict(), "versions": dict(self.versions),
            "catalog_fingerprint": self.catalog_fingerprint,
            "strict": self.strict, "inputs": self.inputs.to_dict(),
            "profile": dict(self.profile) if self.profile is not None else None,
            "layout": self.layout,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LaunchPlan":
        """The plan of a `to_dict()` object (keys added later are optional)."""
        from spyre_hydra.conftree.arguments import ArgumentTypeError

        required = ("model", "option", "tp_size", "sendnn_version", "runtime", "mode",
                    "backend", "engine_args", "env", "supported")
        missing = [k for k in required if k not in data] if isinstance(data, Mapping) else None
        if missing is None or missing:
            what = (f"lacks {', '.join(missing)}" if missing else
                    f"is {type(data).__name__}, not a mapping")
            raise ArgumentTypeError(f"LaunchPlan.from_dict({data!r:.60}): the plan {what}. "
                                    "Fix: pass what LaunchPlan.to_dict() (or a result.json's "
                                    "\"plan\") gave")
        prov = data.get("provenance") or {}
        return cls(
            data["model"], data["option"], int(data["tp_size"]), str(data["sendnn_version"]),
            data["runtime"], data["mode"], data["backend"], data["engine_args"], data["env"],
            data.get("backend_env") or {}, data.get("warmup_shapes") or (),
            bool(data["supported"]), data.get("summary") or "",
            data.get("conflicts") or (), data.get("warnings") or (),
            Provenance(prov.get("choices") or {}, prov.get("files") or {},
                       tuple(prov.get("overrides") or ()), tuple(prov.get("conf_roots") or ())),
            data.get("versions") or {}, data.get("catalog_fingerprint") or "",
            bool(data.get("strict")), RunInputs.from_dict(data.get("inputs")),
            data.get("profile"), data.get("layout") or "")

    def replace(self, **changes: Any) -> "LaunchPlan":
        """A copy with some fields changed (the plan itself never changes)."""
        return dataclasses.replace(self, **changes)

    def promised_env(self) -> dict[str, str]:
        """The backend's static env overlaid with the model's device env."""
        return {**{k: str(v) for k, v in self.backend_env.items()},
                **{k: str(v) for k, v in self.env.items()}}

    def engine_args(self) -> dict[str, Any]:
        """vLLM EngineArgs keyword arguments (None for a default-when-None field dropped)."""
        return {k: v for k, v in self.args.items()
                if not (v is None and k in DEFAULT_WHEN_NONE)}

    @property
    def conf_tree(self):
        """The conf roots this plan was composed from (a ConfTree; the shipped tree when the
        plan names none)."""
        from spyre_hydra.conftree.tree import ConfTree

        return ConfTree.of(self.provenance.conf_roots)

    @property
    def builtin_model(self) -> bool:
        """Whether vLLM loads a builtin tiny checkpoint (random weights)."""
        from spyre_hydra.catalog.builtin import BUILTIN

        return str(self.args.get("model", "")).startswith(BUILTIN)


__all__ = ["LaunchPlan", "Provenance", "RunInputs"]
