"""JSON responses with ETags, served from the catalogue cache when possible."""

from flask import Response, current_app

from core.etags import etag_of as _etag
from core.etags import respond_with_etag as _respond
from shop.cache import catalogue_cache, versioned_key


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
