"""REST routes of the records domain under /api/v1."""

from fastapi import APIRouter

router = APIRouter(tags=["records"])
