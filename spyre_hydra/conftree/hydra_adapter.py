"""The one place spyre_hydra touches Hydra's (and OmegaConf's) private API.

Private names used, and why no public one does:

- ``hydra._internal.utils.get_args_parser``: the argparse parser `@hydra.main` reads the
  command line with. spyre-launch's pre-flight must split argv exactly as Hydra will
  (which words are overrides, `--config-dir`, `-m`, `--shell-completion`, ...) before Hydra
  runs; Hydra exposes no public accessor for it. If a Hydra upgrade removes it, the import
  error names this module and the pre-flight falls back to no parse at all (refusing to run),
  never to a silently different reading.
- ``hydra._internal.hydra.Hydra.get_mode`` (replaced for one run): before running a job,
  `@hydra.main` composes the whole tree once more only to read `hydra.mode`, which
  spyre_hydra's conf never sets. When neither an override nor a user conf dir can set it,
  the answer is known (None: "use the command line"), and skipping that compose saves
  ~0.07 s (16%) of `spyre-launch mode=plan`: 0.358-0.379 s vs 0.425-0.427 s mean wall over
  10 runs each on a quiet machine. Hydra has no public switch for it (`--run` and `-m`
  probe too). Deleting this function costs only that time.

- OmegaConf's ``DictConfig._get_node`` / ``Node._value`` (not Hydra's, kept here so that
  private names stay in one module): a sweep applies a point's value overrides to its
  memoised tree in place and must put back the *unresolved* value afterwards (an
  interpolation stays ``${...}``). The public ``OmegaConf.to_container(resolve=False)``
  gives the same but copies the whole parent node for every override of every point.
- ``hydra.plugins.config_source.ConfigSource._get_header_dict``: the parser of a config
  file's `# @package` header. A user conf dir's files are held to their own group's package
  before Hydra loads them (conftree/trust.py), so the header must be read exactly as Hydra
  reads it. If it goes away, a conservative scan takes its place: any `# @...` line of the
  leading comment block counts, so a header Hydra would read is never missed.

Everything else uses public API: `hydra.main`, the compose API, `SearchPathPlugin`,
`OverridesParser`, `HydraConfig`, and `HYDRA_FULL_ERROR` (documented) so that Hydra hands
errors to spyre_hydra's error boundary instead of printing them itself.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator


def launch_args_parser() -> argparse.ArgumentParser:
    """Hydra's own command-line parser (private: ``hydra._internal.utils.get_args_parser``)."""
    from hydra._internal.utils import get_args_parser

    return get_args_parser()


def parse_launch_args(argv: list[str]) -> argparse.Namespace:
    """argv read as `@hydra.main` will read it; a word Hydra's parser would refuse (a bad
    flag value, an unknown flag, an override after a flag's argument) raises
    UnknownOptionError here, where argparse would print its usage and exit."""
    from spyre_hydra.errors import UnknownOptionError

    parser = launch_args_parser()

    def refuse(message: str):
        raise UnknownOptionError(
            f"the command line: {message}. Fix: spyre-launch --help lists the flags; give "
            "them before the key=value overrides (spyre-launch -m --cfg job model=...).")

    parser.error = refuse  # type: ignore[method-assign]  # argparse's one exit point
    args, extra = parser.parse_known_args(argv)
    if extra:
        refuse(f"unrecognized arguments: {' '.join(extra)}")
    return args


@contextlib.contextmanager
def errors_raised() -> Iterator[None]:
    """Let Hydra raise what goes wrong instead of printing it and exiting 1.

    `HYDRA_FULL_ERROR=1` is Hydra's documented switch; it is set only for the duration of
    the run and the previous value restored, so the process env ends as it began.
    """
    before = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = before


@contextlib.contextmanager
def skip_mode_probe(argv: list[str], user_dir) -> Iterator[None]:
    """Skip Hydra's `hydra.mode` probe compose when its answer is known to be None."""
    from hydra._internal.hydra import Hydra

    if user_dir is not None or any("hydra.mode" in arg for arg in argv):
        yield
        return
    probe = Hydra.get_mode
    Hydra.get_mode = lambda self, config_name, overrides: None
    try:
        yield
    finally:
        Hydra.get_mode = probe


def config_header(text: str) -> dict[str, str | None]:
    """A config file's `# @key value` header as Hydra reads it ({"package": None} when
    absent); ValueError for a header Hydra refuses."""
    try:
        from hydra.plugins.config_source import ConfigSource

        return ConfigSource._get_header_dict(text)
    except (ImportError, AttributeError):
        import re

        found: dict[str, str | None] = {"package": None}
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                break
            match = re.match(r"#\s*@(\S+)\s*(.*)", line)
            if match:
                found[match.group(1)] = match.group(2).strip() or None
        return found


#: raw_value's answer when there is no plain value to restore
ABSENT = object()


def raw_value(cfg, key: str):
    """The unresolved value at `key` (interpolations stay strings), or ABSENT when the key
    is missing or holds a config node (those are not undone in place)."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    parent_key, _, leaf = key.rpartition(".")
    try:
        parent = OmegaConf.select(cfg, parent_key, throw_on_missing=False) if parent_key \
            else cfg
        node = parent._get_node(leaf) if isinstance(parent, DictConfig) else None
    except Exception:  # an interpolated or missing parent: take the copying path
        return ABSENT
    if node is None or isinstance(node, DictConfig):
        return ABSENT
    if isinstance(node, ListConfig):
        return OmegaConf.to_container(node, resolve=False)
    return node._value()


__all__ = ["ABSENT", "config_header", "errors_raised", "launch_args_parser", "parse_launch_args",
           "raw_value", "skip_mode_probe"]
