"""The error the endpoints raise to answer with a Meraki error body."""

__all__ = ('ApiError',)


class ApiError(Exception):
    """An HTTP error with Meraki's body, ``{"errors": [...]}``."""

    def __init__(self, status, *errors):
        super().__init__(status, errors)
        self.status = status
        self.errors = list(errors)

    @property
    def body(self):
        """The JSON-ready error body."""
        return {'errors': self.errors}


def not_found():
    """Meraki's answer for an id that does not exist or that the key may not see."""
    return ApiError(404, 'Not found')
