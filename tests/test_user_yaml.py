"""The one loader of the YAML a user gives: aliases may not repeat more values than
``MAX_REPEATED_VALUES``, nor hold the value they name; anything else loads as PyYAML reads it."""

from __future__ import annotations

import time

import pytest
from alias_files import bound_passed, nested_aliases

from bedrock_finops import user_yaml
from bedrock_finops.user_yaml import YamlRefused, load_yaml


# *a0 stands for 11 values (the list and its 10 strings), *a1 for 111, *a2 1,111, *a3 11,111;
# the aliases in a1 to a3 repeat 9 * (11 + 111 + 1,111) = 11,097, a4's first eight *a3 88,888
# more (99,985): its ninth passes 100,000, at column 283 (298 behind three more anchors).
@pytest.mark.parametrize(("depth", "size", "column"), [(6, 353, 283), (9, 506, 298)])
def test_nested_aliases_are_refused_at_once(depth: int, size: int, column: int) -> None:
    """353 bytes standing for 10**6 strings, 506 for 10**9: PyYAML loads either in
    milliseconds (the repeats are one shared list), and the run's manifest then built them all."""
    text = nested_aliases(depth)
    assert len(text) == size
    started = time.perf_counter()
    with pytest.raises(YamlRefused) as err:
        load_yaml(text)
    assert time.perf_counter() - started < 1.0
    assert str(err.value) == bound_passed(column)


def test_aliases_that_repeat_a_few_values_load_as_written() -> None:
    text = (
        "quiet: &quiet [nightly-etl, reports]\n"
        "base: &base {top_n: 5, discount_pct: 2}\n"
        "02_batch_inference: {force_out: *quiet}\n"
        "00_baseline:\n  <<: *base\n  top_n: 3\n"
    )
    assert load_yaml(text) == {
        "quiet": ["nightly-etl", "reports"],
        "base": {"top_n": 5, "discount_pct": 2},
        "02_batch_inference": {"force_out": ["nightly-etl", "reports"]},
        "00_baseline": {"top_n": 3, "discount_pct": 2},
    }
    assert len(load_yaml(nested_aliases(4))["02_batch_inference"]["force_in"]) == 10


def test_the_bound_counts_the_values_aliases_repeat(monkeypatch) -> None:
    """Values written out do not count, however many; each alias counts what its anchor's
    value stands for, a list and its items alike."""
    monkeypatch.setattr(user_yaml, "MAX_REPEATED_VALUES", 10)
    assert len(load_yaml("[" + ", ".join(["x"] * 50) + "]")) == 50
    assert load_yaml("a: &l [1, 2, 3, 4]\nb: [*l, *l]\n")["b"] == [[1, 2, 3, 4]] * 2  # 10
    with pytest.raises(YamlRefused, match=r"^its aliases repeat more than 10 values \(by line 2, "
                       r"column 13, where \*l repeats 5\)"):  # fmt: skip
        load_yaml("a: &l [1, 2, 3, 4]\nb: [*l, *l, *l]\n")


def test_an_alias_inside_the_value_it_names_is_refused() -> None:
    """PyYAML builds a list that holds itself, which no check or JSON could walk to its end."""
    with pytest.raises(YamlRefused) as err:
        load_yaml("run:\n  cur: &paths [a, *paths]\n")
    assert str(err.value) == (
        "the alias *paths (line 2, column 19) is inside the value &paths names, which would "
        "make that value hold itself; write the value out instead"
    )


def test_a_key_given_twice_is_refused_with_its_lines() -> None:
    with pytest.raises(YamlRefused) as err:
        load_yaml("run:\n  region: us-east-1\n  region: eu-west-1\n")
    assert str(err.value) == "key 'region' is given twice (lines 2 and 3); keep one"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "empty"),
        (True, "the boolean True"),
        (2024, "the number 2024"),
        (["a", "b"], "a list (['a', 'b'])"),
        ({"x": 1}, "a mapping ({'x': 1})"),
        (
            [["lol"] * 10] * 10,
            "a list ([['lol', 'lol', 'lol', 'lol', 'lol', 'lol', ...], ['lol', 'lol', 'lol', "
            "'lol', 'lol', 'lol', ...]...)",
        ),
    ],
)
def test_a_value_that_is_not_a_string_is_named_short(value: object, kind: str) -> None:
    assert user_yaml.value_kind(value) == kind
