"""REST routes of the vision domain under /api/v1."""

from fastapi import APIRouter

router = APIRouter(tags=["vision"])
