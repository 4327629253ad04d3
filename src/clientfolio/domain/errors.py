"""Every error a user can cause or meet, each with a stable code.

Entrypoints map `code` to an exit status (CLI) or a problem+json `type` (API);
messages are safe to show: they never carry secret values.
"""


class ClientfolioError(Exception):
    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(ClientfolioError):
    code = "invalid-input"


class TooLarge(InvalidInput):
    """Content over the configured size limit (an HTTP 413; CLI exit 2 like other bad input)."""

    code = "too-large"


class NothingToChange(InvalidInput):
    """An edit whose values are all the current ones (the HTTP API answers a PATCH like that with the record)."""


class NoPreview(InvalidInput):
    """No page images for this file: its kind has none (text, Word, Excel) or it cannot be drawn (damaged,
    password-protected). A page shows the text or offers the download instead."""

    code = "no-preview"


class NotFound(ClientfolioError):
    code = "not-found"


class PermissionDenied(ClientfolioError):
    code = "permission-denied"

    def __init__(self, message: str, *, action: str, object_type: str = "", object_id: str = "",
                 customer_code: str | None = None):
        super().__init__(message)
        self.action = action
        self.object_type = object_type
        self.object_id = object_id
        self.customer_code = customer_code


class NotAuthenticated(ClientfolioError):
    """Sign-in failed, or a session or token is missing, expired or revoked. Messages never say which part of
    a user name / password pair was wrong."""

    code = "not-authenticated"


class RateLimited(ClientfolioError):
    """Too many failed sign-ins from one client address: refused without checking anything."""

    code = "rate-limited"


class Duplicate(ClientfolioError):
    code = "duplicate"

    def __init__(self, message: str, *, existing_id: int | None = None):
        super().__init__(message)
        self.existing_id = existing_id  # the document that already holds this content


class Conflict(ClientfolioError):
    code = "conflict"


class IntegrityFailure(ClientfolioError):
    """Stored bytes or fields failed authentication: never hand them out."""

    code = "integrity-failed"


class BlobMissing(IntegrityFailure):
    code = "blob-missing"


class WrongKey(ClientfolioError):
    """The master key is missing, malformed or not the one this vault was made with."""

    code = "wrong-key"


class NotInitialized(ClientfolioError):
    code = "not-initialized"
