"""Console pages of the records domain."""

from fastapi import APIRouter

router = APIRouter()
