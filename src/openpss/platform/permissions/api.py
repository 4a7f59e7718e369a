"""REST routes of the permissions domain under /api/v1."""

from fastapi import APIRouter

router = APIRouter(tags=["permissions"])
