"""Writing results to stdout when the reader may go away (`spyre-launch ... | head`), or
when stdout cannot take them (/dev/full, a full disk, an ASCII-only locale). Text for a
person (readable_stdout) falls back to ASCII on an ASCII-only stdout; machine output fails
with the encoding named, since altering it would change the data."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import sys

from spyre_hydra.errors import SpyreHydraError


class OutputDeviceError(SpyreHydraError):
    """Standard output cannot take what a command prints: a full device, an I/O error, or an
    encoding that cannot hold the text. Names the stream and what it is connected to."""


def quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush can't raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def reader_gone() -> bool:
    """True when stdout is a pipe whose reader has closed it (poll reports an error on the
    write end): a BrokenPipeError on a socket of the engine's stays an error."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        events = poller.poll(0)
    except (AttributeError, OSError, ValueError):  # no poll(), or no real stdout
        return False
    return any(mask & select.POLLERR for _, mask in events)


def emit(text: str) -> None:
    """Print a result; a closed pipe is the reader's choice, not an error."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        quiet_stdout()


#: The glyphs of the project's own tables and notes, as ASCII for a stdout that cannot hold
#: them (`spyre-hydra list` under PYTHONIOENCODING=ascii shows `<1.0.3->2080`).
ASCII_GLYPHS = {"\u2192": "->", "\u2190": "<-", "\u2713": "ok", "\u2717": "x", "\u26a0": "(!)",
                "\u2264": "<=", "\u2265": ">=", "\u2026": "...", "\u2014": "--", "\u2013": "-",
                "\u00d7": "x"}


def readable(text: str, encoding: str | None) -> str:
    """text as a stream in `encoding` can show it: unchanged when it can, else each character
    it cannot hold as its ASCII_GLYPHS form, or as a visible escape (`\\xe9`) for the rest."""
    try:
        text.encode(encoding or "utf-8")
        return text
    except (UnicodeEncodeError, LookupError):
        pass
    out = []
    for char in text:
        try:
            char.encode(encoding or "utf-8")
            out.append(char)
        except (UnicodeEncodeError, LookupError):
            out.append(ASCII_GLYPHS.get(char) or char.encode("ascii", "backslashreplace").decode())
    return "".join(out)


class _Readable:
    """stdout for text a person reads: what its encoding cannot hold is shown in ASCII."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        return self._stream.write(readable(text, getattr(self._stream, "encoding", None)))

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def readable_stdout():
    """While a command prints a table or notes for a person, an ASCII-only stdout gets the
    ASCII form of the project's glyphs instead of failing. Machine output (JSON) is never
    printed under it: there a character stdout cannot hold stays an OutputDeviceError."""
    with _wrapped_stdout(_Readable):
        yield


def _target(stream) -> str:
    """What a stream is connected to, e.g. '/dev/full', 'a pipe', 'a terminal'."""
    try:
        fd = stream.fileno()
        where = os.readlink(f"/proc/self/fd/{fd}")
    except (AttributeError, OSError, ValueError):
        return "not a file"
    return "a pipe" if where.startswith("pipe:") else where


def _failure(exc: BaseException, stream, written: int) -> OutputDeviceError:
    from spyre_hydra.io.writer import WRITTEN

    where = f"standard output ({_target(stream)})"
    done = ""
    if written:  # the command's work is done; only its report is lost: exit 1, not 2
        done = (f" The command's files were written ({written}, the last {WRITTEN['last']}); "
                "only what it prints was lost.")
    if isinstance(exc, UnicodeEncodeError):
        bad = exc.object[exc.start:exc.end][:1]
        error = OutputDeviceError(
            f"{where}: its encoding {exc.encoding!r} cannot hold {bad!r} (U+{ord(bad):04X}), "
            f"so the output stops there.{done} Fix: run under a UTF-8 locale (export "
            "LANG=C.UTF-8) or set PYTHONIOENCODING=utf-8.")
    else:
        error = OutputDeviceError(
            f"{where}: cannot write: {exc.strerror or exc}.{done} Fix: send the output to a "
            "file on a disk with free space, or to a pipe (`| less`).")
    if written:
        error.exit_code = 1
    return error


class _Closed:
    """What stdout is when the process started with it closed (`>&-`): Python's own None
    would make print() drop the output without a word; the first write says so instead."""

    _stream = None

    def write(self, _text):
        raise OutputDeviceError("standard output is closed (the shell's `>&-`), so what the "
                                "command prints is lost. Fix: send it to a file or a pipe "
                                "(`> plan.json`, `| less`), or to /dev/null to discard it.")

    writelines = write

    def flush(self):
        return None

    def isatty(self):
        return False


class _Checked:
    """stdout, with a write error raised as OutputDeviceError naming the stream. A closed
    pipe (EPIPE) stays BrokenPipeError: the boundary ends quietly then."""

    def __init__(self, stream):
        from spyre_hydra.io.writer import WRITTEN

        self._stream, self._mark = stream, WRITTEN["count"]

    def _call(self, name, *args):
        try:
            return getattr(self._stream, name)(*args)
        except BrokenPipeError:
            raise
        except (OSError, UnicodeEncodeError) as exc:
            if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
                raise
            from spyre_hydra.io.writer import WRITTEN

            raise _failure(exc, self._stream, WRITTEN["count"] - self._mark) from None

    def write(self, text):
        return self._call("write", text)

    def writelines(self, lines):
        return self._call("writelines", lines)

    def flush(self):
        return self._call("flush")

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def checked_stdout():
    """While a command runs, an error writing stdout names stdout (and its device or
    encoding) instead of blaming "a path"; see OutputDeviceError."""
    with _wrapped_stdout(_Checked):
        yield


@contextlib.contextmanager
def _wrapped_stdout(wrapper):
    """sys.stdout wrapped in `wrapper` for the block (once: a wrapped stdout is not wrapped
    again), then put back unless the block replaced it itself."""
    saved = sys.stdout
    if saved is None and wrapper is _Checked:  # started with stdout closed
        sys.stdout = _Closed()
        try:
            yield
        finally:
            if isinstance(sys.stdout, _Closed):
                sys.stdout = None
        return
    if saved is None or isinstance(saved, wrapper):
        yield
        return
    sys.stdout = wrapper(saved)
    try:
        yield
    finally:
        if isinstance(sys.stdout, wrapper) and sys.stdout._stream is saved:
            sys.stdout = saved
