"""The one exception type raised for bad user input."""

from __future__ import annotations


class Cell2NetInputError(ValueError):
    """Bad user input: a file, key, column, gene or option that does not fit the contract.

    The message names what was given, where (file, key, gene) and how to fix it.

    Examples
    --------
    >>> from cell2net_core.settings import Settings
    >>> try:
    ...     Settings(method="ig")
    ... except Cell2NetInputError as e:
    ...     print(e)
    method 'ig' is not one of ('captum', 'exact').
    """
