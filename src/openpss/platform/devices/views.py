"""Console pages of the devices domain."""

from fastapi import APIRouter

router = APIRouter()
