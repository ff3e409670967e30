"""YAML files of aliases within aliases, and the error that refuses them."""

from __future__ import annotations


def nested_aliases(depth: int) -> str:
    """A list of 10 strings, then ``depth - 1`` lists each holding the one before and 9 aliases
    of it: 10**depth strings in a line of about 50 * depth bytes ("billion laughs")."""
    inner = '&a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
    for i in range(1, depth):
        inner = f"&a{i} [{inner}, " + ", ".join([f"*a{i - 1}"] * 9) + "]"
    return f"02_batch_inference:\n  force_in: {inner}\n"


def bound_passed(column: int, line: int = 2) -> str:
    """The error refusing :func:`nested_aliases` of depth 5 or more, whose ninth alias of a3
    passes the bound at ``column`` of ``line``."""
    return (
        f"its aliases repeat more than 100,000 values (by line {line}, column {column}, where "
        "*a3 repeats 11,111): aliases (*name) inside the values their anchors (&name) name "
        "multiply, so a file of a few hundred bytes can stand for billions of values; no "
        "settings need so many: write the values out, or use fewer aliases"
    )
