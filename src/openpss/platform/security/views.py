"""Console pages of the security domain."""

from fastapi import APIRouter

router = APIRouter()
