"""A catalog model entry (the seed's ModelConfig) and its runtime look-ups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from spyre_hydra.conftree.resolvers import entry_settings


def normalize_shapes(shapes) -> list[tuple[int, int, int]]:
    """[prompt_len, new_tokens, batch_size] from 3-item sequences, the plugin's 2-item
    (prompt_len, batch_size) (no new tokens: 0) or mappings."""
    out = []
    for shape in shapes or []:
        try:
            if isinstance(shape, Mapping):
                triple = (shape["prompt_len"], shape.get("new_tokens", 0), shape["batch_size"])
            elif len(shape) == 2:
                triple = (shape[0], 0, shape[1])
            else:
                prompt, new, batch = shape
                triple = (prompt, new, batch)
            out.append(tuple(int(x) for x in triple))
        except (KeyError, TypeError, ValueError):
            from spyre_hydra.errors import ConfigValidationError, Problem

            raise ConfigValidationError([Problem(
                "warmup_shapes", f"{shape!r} is not a warmup shape.", "",
                "give [prompt_len, new_tokens, batch_size], the plugin's (prompt_len, "
                "batch_size), or {prompt_len, new_tokens, batch_size} (new_tokens may be "
                "left out: 0)")]) from None
    return out


def shape_keys(shapes) -> set[tuple[int, int]]:
    """The (prompt_len, batch_size) of each shape: what static matching compares. As in
    the plugin, new_tokens takes no part (a pooling model generates none)."""
    return {(p, b) for p, _, b in normalize_shapes(shapes)}


@dataclass
class ModelEntry:
    """One catalog model (the seed's ModelConfig)."""

    name: str
    option: str
    family: str
    architecture: dict
    platforms: list
    continuous_batching_configs: list
    static_batching_configs: list
    device_configs: dict
    priority: int = 0
    path: str | None = None
    files: list = field(default_factory=list)
    configurator: dict | None = None
    profiles: dict = field(default_factory=dict)  # name -> measured layout (spyre-hydra tune)

    def tp_sizes(self) -> list[int]:
        entries = self.continuous_batching_configs + self.static_batching_configs
        return sorted({e["tp_size"] for e in entries})

    def modes(self) -> list[str]:
        return [m for m, e in (("cb", self.continuous_batching_configs),
                               ("static", self.static_batching_configs)) if e]

    def cb_entry(self, tp: int, max_model_len: int, max_num_seqs: int) -> dict | None:
        for entry in self.continuous_batching_configs:
            if (entry["tp_size"], entry["max_model_len"], entry["max_num_seqs"]) == (
                    tp, max_model_len, max_num_seqs):
                return entry
        return None

    def static_entry(self, tp: int, shapes) -> dict | None:
        wanted = shape_keys(shapes)
        if not wanted:
            return None
        for entry in self.static_batching_configs:
            if entry["tp_size"] == tp and wanted <= shape_keys(entry["warmup_shapes"]):
                return entry
        return None

    def entry_settings(self, cb_entry: Mapping, device: str | None) -> Mapping | None:
        """The raw device settings a CB entry runs with: its own `device_config` when it
        has one (``{}``: none), else the ``device_configs`` block of its device option."""
        return entry_settings(cb_entry, self.device_configs, device)

    def describe_runtimes(self, tp: int | None = None) -> str:
        parts = [f"cb tp{e['tp_size']} max_model_len={e['max_model_len']} "
                 f"max_num_seqs={e['max_num_seqs']}" for e in self.continuous_batching_configs
                 if tp is None or e["tp_size"] == tp]
        parts += [f"static tp{e['tp_size']} shapes={e['warmup_shapes']}"
                  for e in self.static_batching_configs if tp is None or e["tp_size"] == tp]
        return "; ".join(parts) or "none"

    @classmethod
    def from_tree(cls, model: Mapping, option: str | None = None, files=()) -> "ModelEntry":
        """Build from a composed/loaded model node (plain data)."""
        return cls(model["hf_id"], option or model["hf_id"], model["family"],
                   dict(model["architecture"]), list(model.get("platforms") or []),
                   list(model.get("continuous_batching_configs") or []),
                   list(model.get("static_batching_configs") or []),
                   dict(model.get("device_configs") or {}), int(model.get("priority") or 0),
                   model.get("path"), list(files), _plain(model.get("configurator")),
                   dict(model.get("profiles") or {}))


def _plain(node):
    """A `configurator:` node as a plain dict (None when absent)."""
    return dict(node) if isinstance(node, Mapping) else node
