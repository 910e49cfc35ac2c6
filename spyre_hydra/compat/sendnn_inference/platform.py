"""The two questions the plugin's registry asks its platform: is torch_sendnn installed,
and which version. Answered from package metadata (never by importing torch_sendnn)."""

from __future__ import annotations

from spyre_hydra.conftree.versions import NOT_INSTALLED, installed_sendnn_version, parse_version


class SpyrePlatform:
    """The plugin's SpyrePlatform, reduced to what the config API needs."""

    @staticmethod
    def sendnn_configured() -> bool:
        return installed_sendnn_version() != NOT_INSTALLED

    @staticmethod
    def sendnn_version() -> tuple[int, ...]:
        version = parse_version(installed_sendnn_version())
        return (0, 0, 0) if version is None else tuple(version.release[:3])


def sendnn_version_text() -> str:
    """The version the registry selects version-dependent values for ("none": defaults).
    Looked up through the class on every call, so a patched SpyrePlatform is honoured."""
    if not SpyrePlatform.sendnn_configured():
        return "none"
    return ".".join(str(x) for x in SpyrePlatform.sendnn_version())
