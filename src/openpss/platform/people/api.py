"""REST routes of the people domain under /api/v1."""

from fastapi import APIRouter

router = APIRouter(tags=["people"])
