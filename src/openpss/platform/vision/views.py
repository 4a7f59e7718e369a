"""Console pages of the vision domain."""

from fastapi import APIRouter

router = APIRouter()
