"""`spyre-hydra`: tool subcommands. None of them imports torch or vllm unless it must.

Each subcommand lives in its own module and is registered here by name; the module exposes
`add_arguments(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from spyre_hydra.cli.boundary import report
from spyre_hydra.errors import UnknownOptionError
from spyre_hydra.io.output import checked_stdout, quiet_stdout

#: subcommand -> (module, one-line help)
COMMANDS = {
    "list": ("spyre_hydra.cli.listing", "print the model table (text, markdown or json)"),
    "check": ("spyre_hydra.cli.check", "report catalog ties and shadows (optionally against HF configs)"),
    "schema": ("spyre_hydra.cli.schema_doc", "print the typed schema with a line per field"),
    "import-legacy": ("spyre_hydra.legacy.importer", "convert a plugin model_configs.yaml into a conf tree"),
    "export-legacy": ("spyre_hydra.legacy.exporter", "write the catalog in the plugin's model_configs.yaml schema"),
    "export-serve": ("spyre_hydra.deploy.export_serve", "write a `vllm serve --config` YAML and env.sh for a composition"),
    "explain": ("spyre_hydra.cli.explain", "print every plan value with where it came from"),
    "sweep-report": ("spyre_hydra.sweep.report", "rebuild a sweep's summary table and plot from its job dirs"),
    "tune": ("spyre_hydra.tune.command", "bench-sweep candidate layouts, pick the best under an SLO, write profiles"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors in the boundary's one-paragraph form (exit 2)."""

    def error(self, message: str):
        from spyre_hydra.errors import UnknownOptionError

        raise UnknownOptionError(f"the command line: {message}. Fix: {self.prog} --help "
                                 "lists the arguments and options")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spyre-hydra", description=__doc__.splitlines()[0])
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sub = subs.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module)
        try:
            importlib.import_module(module).add_arguments(sub)
        except ModuleNotFoundError:
            sub.set_defaults(_missing=True)
    return parser


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_usage(sys.stderr)
        return report("spyre-hydra", UnknownOptionError(
            f"the command line: no command given. Fix: spyre-hydra COMMAND, one of: "
            f"{', '.join(COMMANDS)} (spyre-hydra --help describes them)"))
    config_dir = getattr(args, "config_dir", None)
    if config_dir is not None and not config_dir.strip():
        # caught here, not by the API the subcommand calls: that one names its own parameter
        # (get_model_registry(conf_dir='')), and an export would read the cwd as a conf tree
        return report(f"spyre-hydra {args.command}", UnknownOptionError(
            f"--config-dir {config_dir!r} is empty. Fix: pass a conf tree such as the output "
            "of `spyre-hydra import-legacy`, or leave the flag out."))
    if getattr(args, "_missing", False):
        print(f"spyre-hydra: {args.command} is not available in this build", file=sys.stderr)
        return 2
    try:
        if hasattr(args, "config_dir"):  # the conf tree, built once for the whole command
            from spyre_hydra.conftree.tree import ConfTree

            if config_dir is not None and not Path(config_dir).is_dir():
                raise UnknownOptionError(
                    f"--config-dir {config_dir!r} is not a directory. Fix: pass a conf tree "
                    "such as the output of `spyre-hydra import-legacy`.")

            args.conf_tree = ConfTree.at(config_dir)
        return int(importlib.import_module(args._module).run(args) or 0)
    except BrokenPipeError:  # `spyre-hydra list | head`: the reader left, nothing to report
        quiet_stdout()
        return 0
    except Exception as error:  # noqa: BLE001 - the boundary names the subcommand
        return report(f"spyre-hydra {args.command}", error)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: every error ends in spyre_hydra.cli.boundary (exit 2 or 3)."""
    try:
        with checked_stdout():  # a full or ASCII-only stdout is named, not "a path"
            return _main(argv)
    except SystemExit:
        raise
    except BaseException as error:  # noqa: BLE001 - the boundary: Ctrl-C, parser bugs
        return report("spyre-hydra", error)


if __name__ == "__main__":
    raise SystemExit(main())
