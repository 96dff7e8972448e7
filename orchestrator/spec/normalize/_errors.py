"""The one error every normalizer raises."""


class NormalizeError(ValueError):
    """A value from a Compose file that cannot be normalized.

    `message` says what is wrong and what was expected, on one line.
    `path` says where inside the value handed to the normalizer: a `str` for a
    mapping key, an `int` for a list index, outermost first. The loader
    prefixes it with the key path of the value in the file.
    """

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def within(self, *outer: str | int) -> "NormalizeError":
        """The same error seen from an enclosing value at `outer`."""
        return NormalizeError(self.message, (*outer, *self.path))
