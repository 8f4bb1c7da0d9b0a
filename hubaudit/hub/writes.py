"""huggingface_hub's errors on a write (``create_commit``, ``create_discussion``, ``upload_folder``) as hubaudit's
:class:`~hubaudit.errors.HubWriteFailed` subclasses: one line naming the fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

from hubaudit.errors import (
    HubUnreachable,
    HubWriteFailed,
    NoWriteAccess,
    WriteConflict,
    WriteTargetNotFound,
    first_line,
)

_HTTP_LIBRARY_ERROR = HfHubHTTPError.__mro__[1]
"""The HTTP library's base error (huggingface_hub's client's): its transport errors are network failures."""

_BY_STATUS = {401: NoWriteAccess, 403: NoWriteAccess, 404: WriteTargetNotFound, 409: WriteConflict, 412: WriteConflict}


@contextmanager
def hub_write_errors(repo_id: str, action: str) -> Iterator[None]:
    """Turn the Hub's refusal of the write ``action`` (``"open a pull request"``) to ``repo_id`` inside the block,
    or a network failure, into a :class:`HubWriteFailed` subclass (by HTTP status: :data:`_BY_STATUS`)."""
    try:
        yield
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else None
        reason = f"HTTP {status}: {_server_message(err)}"
        raise _BY_STATUS.get(status, HubWriteFailed)(repo_id, action, reason) from err
    except (OfflineModeIsEnabled, _HTTP_LIBRARY_ERROR, ConnectionError, TimeoutError) as err:
        raise HubUnreachable(repo_id, action, f"{type(err).__name__}: {first_line(err)}") from err


def _server_message(err: HfHubHTTPError) -> str:
    """The Hub's own error text (its ``X-Error-Message`` or JSON ``error``), else the exception's first line."""
    return getattr(err, "server_message", None) or first_line(err)
