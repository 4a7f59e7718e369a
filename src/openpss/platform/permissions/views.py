"""Console pages of the permissions domain."""

from fastapi import APIRouter

router = APIRouter()
