"""Bounded input: every file spyre_hydra reads from a user is a regular file of sane size,
UTF-8 text, and (for YAML) a document whose aliases cannot expand into billions of nodes.

A 456-byte YAML "billion laughs" builds a graph of a few dozen nodes that OmegaConf (or any
tree walk) expands to 10**9; :func:`check_node_budget` counts the expanded size on the graph
itself (memoised per node), so such a file fails in microseconds.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any

import yaml

from spyre_hydra.errors import SpyreHydraError

#: Default size cap: the largest real plugin catalog is ~30 KB; conf files are smaller.
MAX_BYTES = 10 << 20
#: Nodes a YAML document may expand to once aliases are followed (real catalogs: < 20,000).
MAX_NODES = 1_000_000


class InputError(SpyreHydraError):
    """A file that cannot be read safely: not a regular file, too big, binary, a YAML bomb."""

    def __init__(self, path, why: str, fix: str, what: str = "file"):
        self.path, self.why, self.fix = str(path), why, fix
        super().__init__(f"{what} {path}: {why} Fix: {fix}")


_KIND = {stat.S_IFDIR: "a directory", stat.S_IFCHR: "a character device (such as /dev/zero)",
         stat.S_IFBLK: "a block device", stat.S_IFIFO: "a fifo (named pipe)",
         stat.S_IFSOCK: "a socket"}


def read_bytes_bounded(path, limit: int = MAX_BYTES, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or InputError naming it."""
    fix = f"pass a regular file of at most {limit // (1 << 20) or 1} MB"
    try:
        # O_NONBLOCK: opening a fifo must not wait for a writer; it is refused just below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        why = {errno.ELOOP: "is a symlink loop.", errno.ENOENT: "does not exist.",
               errno.EACCES: "is not readable (permission denied).",
               errno.EISDIR: "is a directory."}.get(exc.errno, f"cannot be opened "
                                                               f"({exc.strerror}).")
        raise InputError(path, why, fix, what) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _KIND.get(stat.S_IFMT(st.st_mode), "not a regular file")
            raise InputError(path, f"is {kind}, not a regular file.", fix, what)
        if st.st_size > limit:
            raise InputError(path, f"is {st.st_size} bytes, over the {limit}-byte limit.", fix,
                             what)
        chunks, size = [], 0
        while size <= limit:  # st_size can lie (/proc) or grow: never read past the cap
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise InputError(path, f"holds more than the {limit}-byte limit.", fix, what)
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror}).", fix, what) from None
    finally:
        os.close(fd)


def read_text_bounded(path, limit: int = MAX_BYTES, what: str = "file") -> str:
    """UTF-8 text of a regular file (see :func:`read_bytes_bounded`); binary is refused."""
    data = read_bytes_bounded(path, limit, what)
    nul = data.find(b"\0")
    if nul >= 0:
        raise InputError(path, f"is binary (a NUL byte at offset {nul}), not "
                         "text.", "pass a UTF-8 text file", what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"is not UTF-8 text (byte {data[exc.start]:#04x} at offset "
                         f"{exc.start}).", "save it as UTF-8 text", what) from None


def check_node_budget(root, path, limit: int = MAX_NODES, what: str = "YAML file") -> int:
    """Nodes ``root`` expands to with aliases followed; InputError past ``limit`` or on a
    recursive alias."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    fix = "write the values out, or use fewer nested aliases (*name)"

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise InputError(path, f"has a recursive alias at line {node.start_mark.line + 1}.",
                             fix, what)
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = ()
        for child in children:
            total += size(child)
            if total > limit:
                raise InputError(path, f"expands to more than {limit} nodes through its "
                                 "aliases (a YAML alias bomb?).", fix, what)
        active.discard(key)
        sizes[key] = total
        return total

    return 0 if root is None else _deep(size, root, path, what)


def _deep(fn, arg, path, what):
    import sys

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 10_000))  # deep but finite documents are legitimate
    try:
        return fn(arg)
    except RecursionError:
        raise InputError(path, "nests too deeply.", "flatten the document", what) from None
    finally:
        sys.setrecursionlimit(old)


def load_yaml(path, loader_cls=None, limit: int = MAX_BYTES, what: str = "YAML file") -> Any:
    """A YAML file read with the caps above, composed, checked, then constructed. Raises
    InputError for the file itself and yaml.YAMLError for its syntax."""
    text = read_text_bounded(path, limit, what)
    loader = (loader_cls or getattr(yaml, "CSafeLoader", yaml.SafeLoader))(text)
    try:
        node = loader.get_single_node()
        check_node_budget(node, path, what=what)
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


__all__ = ["InputError", "MAX_BYTES", "MAX_NODES", "check_node_budget", "load_yaml",
           "read_bytes_bounded", "read_text_bounded"]
