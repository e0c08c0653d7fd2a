"""The one map from refusal codes to HTTP statuses, and the error body every route answers with.

``{"error": {"code", "message_vi", "message_en"}}``: the code is what programs match on, the
words are for people, Vietnamese first. Out of scope answers the same 404 as missing, as
``doc-unavailable`` does on the websocket. A code not listed is the caller's mistake: 400.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from schema.errors import SotayError

STATUS: dict[str, int] = {
    # who you are
    "unauthenticated": 401,
    "auth_failed": 401,
    "unknown_device": 401,
    "bad_nonce": 401,
    "bad_signature": 401,
    "bad_code": 401,
    # what you may do
    "forbidden": 403,
    "officials_only": 403,
    "face_mismatch": 403,
    "selfie_is_card_photo": 403,
    "same_image": 403,
    "reference_mismatch": 403,
    "device_unconfirmed": 403,
    "own_device": 403,
    "attach_secretary_only": 403,
    # what exists (for you)
    "not_found": 404,
    "document_not_found": 404,
    "unknown_cell": 404,
    "unknown_card": 404,
    "no_preview": 404,
    # what state it is in
    "offset_mismatch": 409,
    "device_not_held": 409,
    "upload_conflict": 409,
    "bad_range": 416,
    # how much
    "length_required": 411,
    "too_large": 413,
    "request_too_large": 413,
    "image_too_large": 413,
    "unsupported_type": 415,
    "corrupt_file": 422,
    "gps_present": 422,
    "hidden_data": 422,
    "hash_mismatch": 422,
    "rate_limited": 429,
    "too_many_challenges": 429,
    "quota_exceeded": 429,
    # the server's side
    "busy": 503,
    "face_engine_error": 503,
}


def status_for(exc: SotayError) -> int:
    return STATUS.get(exc.code, 400)


def error_response(exc: SotayError) -> JSONResponse:
    return JSONResponse(exc.as_json(), status_code=status_for(exc))
