"""The one base class of the errors a user can fix: a missing package, a bad option, a broken file.

Each module raises its own kind (``DataError``, ``CheckpointError`` ...), named for where the problem lies, and
each also derives from the built-in error it has always been (``ValueError``, ``RuntimeError``), so that existing
``except`` clauses keep working. The command line catches :class:`GptlabError` and prints its message as one line:
the message is written for the person at the keyboard, and a traceback would only hide it.
"""


class GptlabError(Exception):
    """A problem with the input or the installation, explained by the message (no traceback needed)."""
