"""Writing files so that a failure is one clear error and a crash leaves no torn file."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hubaudit.errors import CannotWrite, HubAuditError, first_line


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash or power loss leaves the old file or the whole new one.

    An ``OSError`` names ``path``, not the temporary file beside it that the data goes to first.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as err:
        temporary.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename in (str(temporary), temporary):
            err.filename, err.filename2 = str(path), None
        raise
    try:  # the rename itself reaches the disk; best effort: Windows and some network file systems cannot
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError:
        pass


@contextmanager
def writing(path: Path | str) -> Iterator[None]:
    """Turn an ``OSError`` while writing ``path`` (disk full, permissions, a file where a folder should be)
    into :class:`CannotWrite` naming the path and the reason."""
    try:
        yield
    except HubAuditError:  # already one line (CannotWrite is an OSError too)
        raise
    except OSError as err:
        reason = "no space left on device" if err.errno == errno.ENOSPC else err.strerror or first_line(err)
        raise CannotWrite(Path(err.filename or path), reason) from None


def writable_folder(path: Path | str, what: str) -> Path:
    """Create ``path`` (a folder the command writes, named ``what`` in errors, e.g. ``--out``) and check it can be written.

    Raises:
        CannotWrite: it is a file, or it cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CannotWrite(path, f"{what} exists and is not a folder")
    with writing(path):
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".hubaudit-write-test.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    return path
