"""YAML a user gives (a params file, an ``--identity-app-map`` or ``--profile-map`` file): the
one loader every such file is read with, and how to name what YAML made of a value.

PyYAML's ``SafeLoader`` keeps the last value of a key given twice, and repeats an anchored
value (``&name``) wherever an alias (``*name``) names it, aliases within aliases included, so
a few hundred bytes can stand for 10^9 values: the file loads at once, as the repeats are one
shared object, and whatever walks the values later (a check listing them, the manifest's
JSON) builds them all, out of memory after the run has begun. :class:`UserYamlLoader` refuses
both while it reads the file, before any of it is used, as it does an alias inside the value
it names (a value holding itself, which nothing could write out).
"""

from __future__ import annotations

import datetime as dt
import reprlib
from typing import Any

import yaml

# Values aliases may repeat in one file, over those written out: a params file repeats a few
# dozen (a list of apps named in two sections), a file of nested aliases billions.
MAX_REPEATED_VALUES = 100_000

SHOWN_CHARS = 100  # of a list or mapping an error quotes
_SHORT = reprlib.Repr()  # bounds the work of quoting one: a list in a list ... is cut short
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 3, 6, 6
_SHORT.maxstring = _SHORT.maxother = SHOWN_CHARS


class YamlRefused(ValueError):
    """YAML that parses but is refused: a key given twice, aliases repeating more than
    :data:`MAX_REPEATED_VALUES` values, or an alias inside the value it names."""


class UserYamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping key given twice (PyYAML keeps the last) and
    counts, as it composes the file, the values its aliases repeat (see the module's doc)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._sizes: dict[yaml.Node, int] = {}  # node -> values it stands for, aliases expanded
        self._repeated = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        node = super().compose_node(parent, index)
        if isinstance(event, yaml.AliasEvent):
            self._count_repeats(node, event)
        else:
            self._sizes[node] = 1 + sum(self._sizes[child] for child in _children(node))
        return node

    def _count_repeats(self, node: yaml.Node, alias: yaml.AliasEvent) -> None:
        """Add the values the alias repeats; refuse past the bound, or an alias inside the
        value it names (whose size is not known yet: it is still being read)."""
        where = f"line {alias.start_mark.line + 1}, column {alias.start_mark.column + 1}"
        size = self._sizes.get(node)
        if size is None:
            raise YamlRefused(
                f"the alias *{alias.anchor} ({where}) is inside the value &{alias.anchor} "
                "names, which would make that value hold itself; write the value out instead"
            )
        self._repeated += size
        if self._repeated > MAX_REPEATED_VALUES:
            raise YamlRefused(
                f"its aliases repeat more than {MAX_REPEATED_VALUES:,} values (by {where}, "
                f"where *{alias.anchor} repeats {size:,}): aliases (*name) inside the values "
                "their anchors (&name) name multiply, so a file of a few hundred bytes can "
                "stand for billions of values; no settings need so many: write the values "
                "out, or use fewer aliases"
            )

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            lines: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<:` merges are not repeats
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = lines.get(key)
                except TypeError:  # an unhashable key: SafeLoader refuses it below
                    continue
                if first is not None:
                    raise YamlRefused(
                        f"key {key!r} is given twice (lines {first} and {line}); keep one"
                    )
                lines[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """A date or time YAML reads; an impossible one (``2026-11-31``) as the text it is,
        so the check of its key refuses it by name, instead of PyYAML's bare ValueError."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


UserYamlLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", UserYamlLoader.construct_yaml_timestamp
)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(text: str) -> Any:
    """YAML (or JSON) text, read by :class:`UserYamlLoader`: ``YamlRefused`` says why not."""
    return yaml.load(text, Loader=UserYamlLoader)  # noqa: S506 (a SafeLoader subclass)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: where and what (PyYAML's own text spans several lines, with
    the offending line quoted and a caret under it)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}" + (f" ({context})" if context else "")


def value_kind(value: Any) -> str:
    """What YAML made of a value that is not a string, for an error (a list or mapping cut
    short past :data:`SHOWN_CHARS` characters)."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"the date {value}"
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'} ({_shown(value)})"
    return f"a {type(value).__name__} ({_shown(value)})"


def _shown(value: Any) -> str:
    text = _SHORT.repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def bool_note(value: Any) -> str:
    """Why a name came out a boolean, for an error."""
    if isinstance(value, bool):
        return " (YAML reads unquoted yes, no, on, off, true and false as booleans)"
    return ""


def as_written(value: Any) -> str:
    """How a scalar YAML read as another type was most likely written."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def item_problem(key: str, index: int, item: Any, what: str, example: str) -> str:
    """Why item ``index`` of the list ``key``, which is not a string, is refused, and the fix:
    ``what`` is what each item names (``an app or segment id``), ``example`` a valid list."""
    problem = f"{key}[{index}] is {value_kind(item)}, not {what}"
    if item is None:
        return f"{problem}; remove the empty item (a '-' or ',' with nothing after it): {example}"
    if isinstance(item, list):
        return f"{problem}; give each as an item of {key} itself, not a list in it: {example}"
    if isinstance(item, dict):
        return f"{problem}; give each as a string, not a mapping: {example}"
    return (
        f"{problem}; write it in quotes, as the file spells it ('{as_written(item)}' if that "
        f"is how it reads){bool_note(item)}"
    )
