"""File downloads of the HTTP edge: XLSX bytes with a Chinese file name."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(content: bytes, filename: str, fallback: str = "export.xlsx") -> Response:
    """``filename`` in UTF-8 (RFC 5987) with an ASCII ``fallback`` for old clients."""
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(content, media_type=XLSX_MEDIA, headers={"Content-Disposition": disposition})
