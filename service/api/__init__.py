"""The JSON API under /api/v1."""

from fastapi import APIRouter

from service.api import participants, signup

router = APIRouter(prefix="/api/v1")
router.include_router(signup.router)
router.include_router(participants.router)
