"""One console form post answered the same way everywhere: run the change through the service,
then show the page again with its notice, or with the domain error and the status it maps to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi.responses import Response
from sqlalchemy.orm import Session

from openpss.platform.errors import DomainError
from openpss.platform.web.errors import http_status

# page(status_code, **context): the page the form was posted from, shown again
Page = Callable[..., Response]
# what a change leaves for the page after it, e.g. {"message": "Account deleted."}
Notice = Mapping[str, object]
# the change: a notice for the page, or a whole answer of its own (e.g. a redirect)
Change = Callable[[], Notice | Response]


def answer(
    page: Page,
    change: Change,
    *,
    error_key: str = "error",
    status: int | None = None,
    rollback: Session | None = None,
    **on_error: object,
) -> Response:
    """Run `change`; on a domain error show `page` with the message under `error_key` (and
    `on_error`) with `status` or the error's own HTTP status, after rolling back `rollback`."""
    try:
        done = change()
    except DomainError as exc:
        if rollback is not None:
            rollback.rollback()
        return page(status or http_status(exc), **{error_key: str(exc)}, **on_error)
    return done if isinstance(done, Response) else page(200, **done)
