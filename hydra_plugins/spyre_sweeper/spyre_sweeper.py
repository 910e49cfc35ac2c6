"""spyre-launch's sweeper, where Hydra looks for plugins (`hydra/sweeper=spyre`).

The typed node is in Hydra's ConfigStore as hydra/sweeper/spyre_schema (wheel installs: found
by Hydra's plugin scan); the default, conf/hydra/sweeper/spyre.yaml, also works from editable
installs, where the scan misses this package and spyre_hydra registers the class itself
(spyre_hydra.cli.launch._register_sweeper, called before Hydra runs). Hydra 1.4 also finds
it by the `hydra.plugins` entry point in pyproject.toml.
"""

from hydra.core.config_store import ConfigStore

from spyre_hydra.sweep.run import run_sweep
from spyre_hydra.sweep.sweeper import SpyreSweeperConf, SweeperSteps


class SpyreSweeper(SweeperSteps):
    """Every point composed and checked once, then batched to the configured launcher."""

    def sweep(self, arguments: list[str]):
        """Hydra's entry: the steps of spyre_hydra.sweep.run on this sweeper's parts."""
        return run_sweep(self, list(arguments))


ConfigStore.instance().store(group="hydra/sweeper", name="spyre_schema", node=SpyreSweeperConf,
                             provider="spyre_hydra")

__all__ = ["SpyreSweeper", "SpyreSweeperConf"]
