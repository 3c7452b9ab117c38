"""The JSON API under /api/v1."""

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError

from service.api import participants, signup


def single_valued_query(request: Request) -> None:
    """`?department=A&department=B` is ambiguous for a one-value filter: refuse it (422)
    rather than silently using one of them."""
    repeated = sorted(
        {
            k
            for k, _ in request.query_params.multi_items()
            if len(request.query_params.getlist(k)) > 1
        }
    )
    if repeated:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", name),
                    "msg": "Value error, give this parameter only once",
                    "input": request.query_params.getlist(name),
                }
                for name in repeated
            ]
        )


router = APIRouter(prefix="/api/v1", dependencies=[Depends(single_valued_query)])
router.include_router(signup.router)
router.include_router(participants.router)
