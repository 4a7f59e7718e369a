"""Time templates, permission groups and authorization tasks."""
