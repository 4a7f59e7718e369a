"""HTTP helpers shared by the intercom API and console routes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, status

from openpss.platform.intercom.errors import Conflict, IntercomError, NotFound, Unavailable


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn intercom domain errors into HTTP errors carrying the message."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except Unavailable as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None
    except IntercomError as exc:
        raise HTTPException(422, str(exc)) from None
