"""REST routes of the devices domain under /api/v1."""

from fastapi import APIRouter

router = APIRouter(tags=["devices"])
