"""The one place spyre_hydra touches Hydra's and OmegaConf's private API, and the one place
that knows which Hydra / OmegaConf line is installed (1.3 / 2.3 and 1.4 / 2.4 both work).

Private names used, why no public one does, and the fallback when an upgrade moves them:

- ``hydra._internal.utils.get_args_parser``: the argparse parser `@hydra.main` reads the
  command line with. spyre-launch's pre-flight must split argv exactly as Hydra will
  (which words are overrides, `--config-dir`, `-m`, `--shell-completion`, ...) before Hydra
  runs; Hydra exposes no public accessor for it. The same name exists on 1.3 and 1.4. If an
  upgrade removes it, launch_args_parser raises an error naming this module and the
  pre-flight refuses to run, never reading the command line differently from Hydra.
  Hydra 1.4 reads argv with parse_intermixed_args (1.3: parse_args); the pre-flight reads
  it as 1.3 does on both lines, so an override after a flag is refused on both, with a fix.
- OmegaConf's ``DictConfig._get_node`` / ``Node._value`` (2.3 and 2.4): a sweep applies a
  point's value overrides to its memoised tree in place and must put back the *unresolved*
  value afterwards (an interpolation stays ``${...}``). The public
  ``OmegaConf.to_container(resolve=False)`` gives the same but copies the whole parent node
  for every override of every point; without the private names, raw_value answers ABSENT
  and the sweep takes that copying path (slower, same result).

- ``hydra.plugins.config_source.ConfigSource._get_header_dict``: the parser of a config
  file's `# @package` header. A user conf dir's files are held to their own group's package
  before Hydra loads them (conftree/trust.py), so the header must be read exactly as Hydra
  reads it. If it goes away, a conservative scan takes its place: any `# @...` line of the
  leading comment block counts, so a header Hydra would read is never missed.

No Hydra method is replaced at run time. Before a run `@hydra.main` composes the tree once
more only to read `hydra.mode` (1.3: a whole compose, ~0.07 s of CPU; 1.4 reads the primary
config only). A plain `mode=plan` does not start Hydra's run machinery at all: it is the
compose API's answer (spyre_hydra/cli/launch.py `_plan_alone`); every other run pays it.

Version-dependent public spellings, picked here so that neither line prints a deprecation
warning: `version_base=None` (1.3 warns without it, 1.4 warns with it); Hydra 1.4's
`execution_whitelist=` for the targets spyre's own conf instantiates (the sweep-isolation
callback; a model's configurator is never built by Hydra's instantiate, see
catalog/custom_code.py);
OmegaConf's `register_resolver` (2.4) / `register_new_resolver` (2.3: its `register_resolver`
is the deprecated legacy API). Hydra 1.4 finds the sweeper by its `hydra.plugins` entry point
(pyproject.toml); 1.3 by its hydra_plugins/ scan.

Everything else uses public API: `hydra.main`, the compose API, `SearchPathPlugin`,
`OverridesParser`, `HydraConfig`, and `HYDRA_FULL_ERROR` (documented) so that Hydra hands
errors to spyre_hydra's error boundary instead of printing them itself.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
from collections.abc import Callable, Iterator

#: The `_target_`s of spyre's own shipped conf that Hydra instantiates inside `@hydra.main`
#: (conf/config.yaml `hydra.callbacks`). Hydra 1.4 warns about (1.5 refuses) any target not
#: on the run's execution whitelist; Hydra's plugins (sweeper, launchers) bring their own.
TRUSTED_TARGETS = ("spyre_hydra.sweep.isolation.IsolationCallback",)


def _line(version: str) -> tuple[int, int]:
    from packaging.version import Version

    major, minor = Version(version).release[:2]  # a pre-release counts as its line: 1.4.0rc3
    return major, minor


@functools.cache
def hydra_line() -> tuple[int, int]:
    """(major, minor) of the imported hydra-core: (1, 3) or (1, 4)."""
    import hydra

    return _line(hydra.__version__)


@functools.cache
def omegaconf_line() -> tuple[int, int]:
    """(major, minor) of the imported omegaconf: (2, 3) or (2, 4)."""
    import omegaconf

    return _line(omegaconf.__version__)


def _version_base() -> dict:
    # 1.3 warns when version_base is left out (and then keeps 1.1's defaults); 1.4 warns
    # when it is given at all and always uses its own defaults, which 1.3's None also means.
    return {"version_base": None} if hydra_line() < (1, 4) else {}


def main_app(task: Callable, config_dir: str, config_name: str) -> Callable[[], None]:
    """`@hydra.main(config_dir, config_name)` around task, spelled for the installed Hydra."""
    import inspect

    import hydra

    kwargs = _version_base()
    if "execution_whitelist" in inspect.signature(hydra.main).parameters:
        kwargs["execution_whitelist"] = list(TRUSTED_TARGETS)
    return hydra.main(config_path=config_dir, config_name=config_name, **kwargs)(task)


def initialize_conf_dir(config_dir: str, **kwargs):
    """Hydra's `initialize_config_dir` (the compose API), spelled for the installed Hydra."""
    from hydra import initialize_config_dir

    return initialize_config_dir(config_dir=config_dir, **_version_base(), **kwargs)


def register_resolver(name: str, func: Callable, *, use_cache: bool = False) -> None:
    """Register an OmegaConf resolver with the non-deprecated spelling of the installed line.

    2.4: `register_resolver` (`register_new_resolver` warns); 2.3: `register_new_resolver`
    (2.3's `register_resolver` is the deprecated legacy API with other semantics).
    """
    from omegaconf import OmegaConf

    if omegaconf_line() >= (2, 4):
        # 2.4 also checks arguments against the resolver's annotations and warns on a
        # mismatch; spyre's resolvers take any value and the plan's checks name a wrong one
        # with its key and a fix, so that warning would only be a stray line on stderr.
        OmegaConf.register_resolver(name, func, use_cache=use_cache,
                                    annotation_validation="off")
    else:
        OmegaConf.register_new_resolver(name, func, use_cache=use_cache)


def launch_args_parser() -> argparse.ArgumentParser:
    """Hydra's own command-line parser (private: ``hydra._internal.utils.get_args_parser``)."""
    try:
        from hydra._internal.utils import get_args_parser
    except ImportError as exc:
        import hydra

        from spyre_hydra.errors import SpyreHydraError

        raise SpyreHydraError(
            f"hydra-core {hydra.__version__} has no hydra._internal.utils.get_args_parser "
            f"({exc}), which spyre-launch reads the command line with "
            "(spyre_hydra/conftree/hydra_adapter.py). Fix: pip install "
            "'hydra-core>=1.3.2,<1.5'.") from None
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
    is missing or holds a config node (those are not undone in place), or when OmegaConf no
    longer has the private accessors (the caller then takes its copying path)."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    parent_key, _, leaf = key.rpartition(".")
    try:
        parent = OmegaConf.select(cfg, parent_key, throw_on_missing=False) if parent_key \
            else cfg
        node = parent._get_node(leaf) if isinstance(parent, DictConfig) else None
    except Exception:  # an interpolated or missing parent, or no _get_node: copy instead
        return ABSENT
    if node is None or isinstance(node, DictConfig):
        return ABSENT
    if isinstance(node, ListConfig):
        return OmegaConf.to_container(node, resolve=False)
    value = getattr(node, "_value", None)
    return value() if callable(value) else ABSENT


def task_hydra_config():
    """The running task's HydraConfig node (None outside a Hydra task): read here only, so
    the layers above take what they need from it as values (a plan's conf roots, a job's
    number and dir) and never look Hydra's state up themselves."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def searched_roots(hc) -> list:
    """Every file root Hydra searched for a composed tree's Hydra node, in order: the
    user's conf dir ranked first as well as the shipped tree (a ConfTree's roots)."""
    from pathlib import Path

    return [Path(s.path.replace("file://", "")) for s in hc.runtime.config_sources
            if s.schema == "file"]


def is_multirun(hc) -> bool:
    """Whether a task's HydraConfig node is one job of a sweep."""
    from hydra.types import RunMode

    return hc is not None and hc.mode == RunMode.MULTIRUN


__all__ = ["ABSENT", "TRUSTED_TARGETS", "config_header", "errors_raised", "hydra_line",
           "initialize_conf_dir", "is_multirun", "launch_args_parser", "main_app",
           "omegaconf_line", "parse_launch_args", "raw_value", "register_resolver",
           "searched_roots", "task_hydra_config"]
