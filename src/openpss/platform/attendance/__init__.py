"""Platform time attendance: periods, shifts, assignments, results and reports.

Importing the package registers the session hook that recomputes a person's stored days when
their department changes (see hooks.py).
"""

from openpss.platform.attendance import hooks as hooks
