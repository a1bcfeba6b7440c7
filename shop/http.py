"""JSON responses with ETags, served from the catalogue cache when possible."""

import hashlib

from flask import Response, current_app, request

from shop.cache import catalogue_cache, versioned_key


def _etag(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def _respond(body: bytes, etag: str, *, private: bool) -> Response:
    """200 with ``body``, or 304 when the client's If-None-Match already names ``etag``."""
    headers = {
        "ETag": f'"{etag}"',
        # Clients may keep it but must revalidate (If-None-Match → 304) before use.
        "Cache-Control": "private, no-cache" if private else "no-cache",
    }
    if request.if_none_match.contains_weak(etag):
        return Response(status=304, headers=headers)
    return Response(body, mimetype="application/json", headers=headers)


def json_response(data: dict, *, private: bool = False) -> Response:
    """``data`` as JSON with an ETag; 304 when the client already has it."""
    body = current_app.json.dumps(data).encode()
    return _respond(body, _etag(body), private=private)


class CachedPage:
    """A page of the public catalogue under ``key`` (None: not cached) at the current version.

    The version is read here, before the caller queries the database, so a
    change committed meanwhile is stored under a version nobody reads any more.
    """

    def __init__(self, key: str | None):
        self.full_key = versioned_key(key) if key else None

    def hit(self) -> Response | None:
        """The cached response, or None."""
        if self.full_key is None:
            return None
        cached = catalogue_cache().get(self.full_key)
        if cached is None:
            return None
        etag, _, body = cached.partition(b"\n")
        return _respond(body, etag.decode(), private=False)

    def store(self, data: dict) -> Response:
        """Respond with ``data`` and keep it for the next request."""
        body = current_app.json.dumps(data).encode()
        etag = _etag(body)
        if self.full_key is not None:
            catalogue_cache().set(self.full_key, etag.encode() + b"\n" + body)
        return _respond(body, etag, private=False)
