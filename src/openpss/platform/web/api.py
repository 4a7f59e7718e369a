"""REST routes of the web domain under /api/v1."""

from fastapi import APIRouter

router = APIRouter(tags=["web"])
