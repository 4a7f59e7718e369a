"""Console pages of the attendance domain."""

from fastapi import APIRouter

router = APIRouter()
