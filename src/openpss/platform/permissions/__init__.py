"""Time templates, permission groups and authorization tasks.

Importing the package registers the session hooks that re-queue a person's authorization tasks
whenever their personnel data or credentials change (see hooks.py).
"""

from openpss.platform.permissions import hooks as hooks
