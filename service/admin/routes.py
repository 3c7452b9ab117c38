"""All dashboard routers, included by the app under /admin."""

from fastapi import APIRouter

from service.admin import (
    audit_log,
    impact,
    library,
    library_import,
    login,
    organizations,
    overview,
    participant_import,
    participants,
    participation,
    rounds,
    settings,
    topics,
)

router = APIRouter(include_in_schema=False)
router.include_router(login.router)
router.include_router(organizations.router)
router.include_router(overview.router)
router.include_router(participant_import.router)
router.include_router(participants.router)
router.include_router(participation.router)
router.include_router(audit_log.router)
router.include_router(rounds.router)
router.include_router(topics.router)
router.include_router(library_import.router)
router.include_router(library.router)
router.include_router(settings.router)
router.include_router(impact.router)
