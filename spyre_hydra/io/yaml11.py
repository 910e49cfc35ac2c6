"""Plain YAML scalars that YAML 1.1 and YAML 1.2 read differently: refused, never guessed.

Hydra and OmegaConf read conf files with PyYAML, a YAML 1.1 reader: an unquoted `NO` is
false, `017` is 15 (octal), `1:30` is 90 (base 60), `1_000` is 1000 and `0b11` is 3, where a
YAML 1.2 reader (and most people) mean the text or the decimal number. spyre_hydra cannot
change how Hydra loads a file, and reading the same file differently from Hydra would make
the catalog disagree with the composed plan, so such a scalar is refused with the two
readings and the fix (quote it for the text, or write the value out). Quoted scalars, and
the forms both versions agree on (true/false, 0x1F, 1.5, .inf), pass. The other way round
too: `0o17` and `-.5` are text to YAML 1.1 and numbers to YAML 1.2.
"""

from __future__ import annotations

import re

import yaml

#: Numbers of YAML 1.2's core schema that a YAML 1.1 reader leaves as text: 0o17 (15 in 1.2),
#: -.5 and .5e3 (floats in 1.2). Hydra's reader gives the text.
_YAML12_ONLY = re.compile(r"0o[0-7]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_STR = "tag:yaml.org,2002:str"
_BOOLS = frozenset(("true", "True", "TRUE", "false", "False", "FALSE"))
_SCALAR_TAGS = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _differs(tag: str, text: str) -> bool:
    if tag.endswith(":bool"):
        return text not in _BOOLS
    digits = text.lstrip("+-")
    if "_" in text or ":" in text:
        return True
    return tag.endswith(":int") and len(digits) > 1 and digits[0] == "0" and \
        digits[1] not in "xX"  # 017 (octal in 1.1, 17 in 1.2) and 0b11 (a string in 1.2)


def yaml11_reading(node) -> tuple[str, object] | None:
    """(text, YAML 1.1 value) of a plain scalar node whose YAML 1.2 reading differs (the C
    parser marks plain scalars with style "", the Python one with None)."""
    if not isinstance(node, yaml.ScalarNode) or node.style not in (None, ""):
        return None
    if node.tag == _STR:  # the text in 1.1, a number in 1.2
        return (node.value, node.value) if _YAML12_ONLY.fullmatch(node.value) else None
    if node.tag not in _SCALAR_TAGS or not _differs(node.tag, node.value):
        return None
    kind = node.tag.rpartition(":")[2]
    value = getattr(_CONSTRUCTOR, f"construct_yaml_{kind}")(node)
    return node.value, value


def describe(text: str, value: object) -> tuple[str, str]:
    """(what is wrong, fix) for one such scalar."""
    if isinstance(value, str):  # YAML 1.1 keeps the text; 1.2 reads a number
        number = int(text[2:], 8) if text.startswith("0o") else float(text)
        return (f"the unquoted value {text} is read as the text {text!r} by YAML 1.1 (the "
                f"reader of Hydra, OmegaConf and PyYAML) but as {number!r} by YAML 1.2; "
                "spyre_hydra does not guess which was meant.",
                f"quote it ({text!r}) to keep the text, or write {number!r} for that number")
    shown = str(value).lower() if isinstance(value, bool) else repr(value)
    digits = text.lstrip("+-")
    decimal = isinstance(value, int) and not isinstance(value, bool) and digits.isdigit()
    other = repr(int(text, 10)) if decimal else f"the text {text!r}"
    fix = (f"write {shown} or {other} for the number you mean, or quote it ({text!r}) for "
           "the text" if decimal else f"quote it ({text!r}) to keep the text, or write "
           f"{shown} for that value")
    return (f"the unquoted value {text} is read as {shown} by YAML 1.1 (the reader of Hydra, "
            f"OmegaConf and PyYAML) but as {other} by YAML 1.2; spyre_hydra does not guess "
            "which was meant.", fix)


def yaml11_scalars(root) -> list[tuple[object, str, object]]:
    """(node, text, YAML 1.1 value) for every such scalar under a composed node graph
    (keys included; an anchored node is visited once)."""
    found, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in reversed(node.value) for n in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        else:
            hit = yaml11_reading(node)
            if hit:
                found.append((node, *hit))
    return found


class Yaml11Guard:
    """Loader mixin: the constructors of bool, int, float and str note each such scalar in
    ``self.yaml11`` (constructing goes on; the reader refuses the file afterwards)."""

    def construct_yaml_bool(self, node):
        self._note(node)
        return super().construct_yaml_bool(node)

    def construct_yaml_int(self, node):
        self._note(node)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node):
        self._note(node)
        return super().construct_yaml_float(node)

    def construct_yaml_str(self, node):
        self._note(node)
        return super().construct_yaml_str(node)

    def _note(self, node) -> None:
        hit = yaml11_reading(node)
        if hit:
            self.__dict__.setdefault("yaml11", []).append((node, *hit))

    @classmethod
    def guard(cls) -> None:
        """Dispatch the three tags to the noting constructors (PyYAML maps tags to
        functions, so overriding the methods alone changes nothing)."""
        for tag in (*_SCALAR_TAGS, _STR):
            kind = tag.rpartition(":")[2]
            cls.add_constructor(tag, getattr(cls, f"construct_yaml_{kind}"))


__all__ = ["Yaml11Guard", "describe", "yaml11_reading", "yaml11_scalars"]
