"""Console pages of the people domain."""

from fastapi import APIRouter

router = APIRouter()
