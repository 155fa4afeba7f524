"""How a setting's value travels between a node property and the pipeline's JSON (no bpy): `to_json` and `from_json`
by the setting's kind, lists of names and values as one line of text (`Cube, "Rock, big"`), and `get` / `put` for a
setting's path in a settings object. The kinds are catalog.py's."""

import json
import math
import re

from ..errors import SidecarError


def to_json(node, setting, value):
    """The JSON value of a property's `value`; raises SidecarError naming `node` when the text does not parse."""
    kind = setting.kind
    if kind == "number":
        return number(value)
    if kind == "names":
        return parse_list(value, names=True, what="{} {}".format(node, setting.label))
    if kind == "values":
        return parse_list(value, names=False, what="{} {}".format(node, setting.label))
    if kind == "json":
        try:
            parsed = json.loads(value)
        except ValueError as err:
            raise SidecarError(
                '{}: {} is not JSON ({}): write an object such as {{"export_yup": true}}.'.format(
                    node, setting.label, err
                )
            )
        if not isinstance(parsed, dict):
            raise SidecarError(
                '{}: {} must be a JSON object, such as {{"export_yup": true}}.'.format(node, setting.label)
            )
        return parsed
    return value


def from_json(node, setting, value):
    """The property value for a JSON value; raises SidecarError naming `node` when it does not fit."""
    kind = setting.kind

    def wrong(expected):
        return SidecarError(
            "{}: settings.{} is {}, but it takes {}.".format(node, setting.key, json.dumps(value), expected)
        )

    if kind == "enum":
        names = [item[0] for item in setting.items]
        # An alias ("exr") or a lower-case name stands for the value; the message names what was written.
        chosen = value
        if isinstance(value, str) and setting.aliases:
            chosen = setting.aliases.get(value.lower(), value.upper())
        if chosen not in names or chosen == setting.absent:
            raise wrong("one of " + ", ".join(n for n in names if n != setting.absent))
        return chosen
    if kind == "bool":
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong("a number")
        return float(value)
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise wrong("a whole number of 1 or more")
        return value
    if kind == "text":
        if not isinstance(value, str):
            raise wrong("a string")
        return value
    if kind in ("names", "values"):
        if not isinstance(value, list):
            raise wrong("a list")
        if kind == "names" and not all(isinstance(v, str) for v in value):
            raise wrong("a list of names")
        return format_list(value, names=kind == "names")
    if kind == "json":
        if not isinstance(value, dict):
            raise wrong("an object")
        return json.dumps(value)
    raise AssertionError(kind)


def number(value):
    """A float as JSON writes it: 2 for 2.0 (the templates' form), 0.25 as it is."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


# -- lists as one line of text ------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def parse_list(text, names, what="the list"):
    """The items of `text`, separated by commas. Names stay text; a name holding a comma or quote is written in double
    quotes. With `names` False, numbers, true/false and vectors ([1, 2, 3]) are read as such, other items as names."""
    items = []
    for token in _split(text, what):
        if token.startswith('"'):
            try:
                item = json.loads(token)
            except ValueError:
                raise SidecarError('{}: {} is not a quoted name (write \\" for a quote inside).'.format(what, token))
        elif token.startswith("["):
            if names:
                raise SidecarError("{}: {} is a vector, but this takes names.".format(what, token))
            try:
                item = json.loads(token)
            except ValueError:
                item = None
            if not (isinstance(item, list) and 2 <= len(item) <= 4 and all(is_number(v) for v in item)):
                raise SidecarError("{}: {} is not a vector of 2 to 4 numbers, such as [1, 2, 3].".format(what, token))
        elif names:
            item = token
        elif _NUMBER.match(token):
            item = json.loads(token) if re.match(r"^-?\d+$", token) else float(token)
        elif token in ("true", "false"):
            item = token == "true"
        else:
            item = token
        items.append(item)
    return items


def format_list(items, names):
    """The text `parse_list` reads back as `items`."""
    return ", ".join(_format_item(item, names) for item in items)


def _format_item(item, names):
    if isinstance(item, bool):
        return "true" if item else "false"
    if is_number(item):
        return json.dumps(item)
    if isinstance(item, list):
        return json.dumps(item)
    text = str(item)
    plain = (
        text
        and text == text.strip()
        and not any(c in text for c in ',"[]')
        and (names or not (_NUMBER.match(text) or text in ("true", "false")))
    )
    return text if plain else json.dumps(text)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _split(text, what):
    """Splits at commas outside double quotes and brackets; empty items are dropped."""
    tokens, current, quoted, depth, escaped = [], [], False, 0, False
    for c in text:
        if quoted:
            current.append(c)
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                quoted = False
            continue
        if c == '"':
            quoted = True
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif c == "," and depth == 0:
            tokens.append("".join(current))
            current = []
            continue
        current.append(c)
    if quoted or depth:
        raise SidecarError("{}: a quote or bracket is not closed in {}.".format(what, text))
    tokens.append("".join(current))
    return [t.strip() for t in tokens if t.strip()]


def get(settings, path):
    """The value at `path` in a settings object, or None."""
    value = settings
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def put(settings, path, value):
    for key in path[:-1]:
        settings = settings.setdefault(key, {})
    settings[path[-1]] = value
