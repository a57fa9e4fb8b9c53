"""Exceptions a user can act on; each message says what to do."""


class NewsragError(Exception):
    """Base class: the CLI prints the message and exits 2, without a traceback."""


class IndexMissingError(NewsragError):
    pass


class IndexMismatchError(NewsragError):
    pass


class IndexCorruptError(NewsragError):
    pass


class BadQuestionError(NewsragError):
    pass


class ModelError(NewsragError):
    pass


class ConfigError(NewsragError, ValueError):
    """An environment setting (NEWSRAG_*) has a value newsrag cannot use."""
