"""Console pages of the web domain."""

from fastapi import APIRouter

router = APIRouter()
