"""REST routes of the security domain under /api/v1."""

from fastapi import APIRouter

router = APIRouter(tags=["security"])
