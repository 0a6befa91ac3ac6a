"""The one exception type of the evaluation package.

Bad input (a malformed prediction or ground-truth file) must reach the user as one clear
sentence naming the file and the problem, never as a traceback from deep inside an engine;
the CLI turns this exception into ``error: ...`` and exit status 2.
"""

from __future__ import annotations


class EvaluationInputError(ValueError):
    """A prediction or ground-truth input that the evaluation cannot use, with the reason."""
