"""REST routes of the attendance domain under /api/v1."""

from fastapi import APIRouter

router = APIRouter(tags=["attendance"])
