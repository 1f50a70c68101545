"""A model's options: name, type, choices, default and help, and checking values against them.

The type and default come from the model's ``build()`` signature (``def build(variant="cho",
layers=1, bidirectional=False)``); a module may add choices, a minimum and help in
``OPTIONS = {"variant": Option(choices=VARIANTS, help=...)}``. The same specs check
keyword options from Python (``symgrad.model("attention", causal="no")`` is an error, not
a mask) and parse ``--name value`` / ``--flag`` / ``--no-flag`` from the command line.
"""
import inspect
import numbers
from dataclasses import dataclass, field

from .errors import OptionError

TYPES = {bool: "flag", int: "whole number", float: "number", str: "text"}


@dataclass(frozen=True)
class Option:
    """What a model declares about one of its options beyond its default's type:
    ``choices`` (a tuple, or a dict choice → what it means), a ``minimum``, a ``help`` line."""
    help: str = ""
    choices: object = ()
    minimum: object = None


@dataclass(frozen=True)
class Spec:
    """One option, resolved: its type is its default's."""
    name: str
    type: type
    default: object
    help: str = ""
    choices: dict = field(default_factory=dict)    # choice → what it means ("" if not said)
    minimum: object = None

    @property
    def flag(self):
        return "--" + self.name.replace("_", "-")

    def usage(self):
        """``--variant vanilla|NIG|…``, ``--layers N``, ``--bidirectional``: how it is written."""
        if self.type is bool:
            return self.flag
        if self.choices:
            return f"{self.flag} {'|'.join(self.choices)}"
        return f"{self.flag} {'N' if self.type is int else 'X' if self.type is float else 'TEXT'}"

    def details(self):
        """Type, range and default, e.g. ``whole number ≥ 1, default 1``."""
        if self.type is bool:
            return f"flag, {'on' if self.default else 'off'} by default"
        kind = "" if self.choices else TYPES[self.type]
        low = f" ≥ {self.minimum}" if self.minimum is not None else ""
        return f"{kind}{low}, default {self.default}".lstrip(", ")


def specs(build, declared, where):
    """The Specs of a build() function, with what ``declared`` (a module's OPTIONS) adds."""
    out = []
    params = inspect.signature(build).parameters
    for name, p in params.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise OptionError(f"{where}: build() takes *{name}; every option must be named")
        if p.default is p.empty or type(p.default) not in TYPES:
            raise OptionError(f"{where}: build() option {name} needs a default of type bool, int, "
                              f"float or str (it gives the option's type), not {p.default!r}"
                              if p.default is not p.empty else
                              f"{where}: build() option {name} has no default; the default gives its type")
        extra = declared.get(name, Option())
        choices = extra.choices if isinstance(extra.choices, dict) else dict.fromkeys(extra.choices, "")
        out.append(Spec(name, type(p.default), p.default, extra.help, dict(choices), extra.minimum))
    unknown = sorted(set(declared) - set(params))
    if unknown:
        raise OptionError(f"{where}: OPTIONS describes {', '.join(unknown)}, which build() does not take")
    return out


def check(model, specs_, given):
    """Keyword options from Python, checked and normalized (a choice in its own spelling)."""
    by_name = {s.name: s for s in specs_}
    out = {}
    for key, value in given.items():
        spec = by_name.get(key)
        if spec is None:
            raise OptionError(f"model {model}: unknown option {key!r} ({_listing([s.name for s in specs_])})")
        out[key] = _value(model, spec, value, spec.name)
    return out


def _value(model, spec, value, label):
    where = f"model {model}: option {label}"
    if spec.type is bool:
        if not _is(value, bool):
            raise OptionError(f"{where} takes True or False, not {value!r}")
        return bool(value)
    if spec.type is int:
        if not _is(value, int):
            raise OptionError(f"{where} takes a whole number, not {value!r}")
        value = int(value)
    elif spec.type is float:
        if not (_is(value, int) or _is(value, float)):
            raise OptionError(f"{where} takes a number, not {value!r}")
        value = float(value)
    elif not isinstance(value, str):
        raise OptionError(f"{where} takes text, not {value!r}")
    if spec.minimum is not None and value < spec.minimum:
        raise OptionError(f"{where} must be ≥ {spec.minimum}, not {value!r}")
    if spec.choices:
        for choice in spec.choices:
            if str(value).lower() == str(choice).lower():
                return choice
        raise OptionError(f"{where}: unknown choice {value!r}; choose one of: {', '.join(spec.choices)}")
    return value


def _is(value, kind):
    """value is of kind; a NumPy scalar counts, a bool is not a number."""
    if kind is bool:
        return type(value).__name__ in ("bool", "bool_")
    if type(value).__name__ in ("bool", "bool_"):
        return False
    return isinstance(value, numbers.Integral if kind is int else numbers.Real)


def parse_cli(model, specs_, args, own=None):
    """The model's options out of a command line: (options, the other arguments in order).

    ``--name value``, ``--name=value``, ``--flag`` and ``--no-flag`` may come anywhere.
    ``own`` maps the command's own options to whether they take a value: they pass through,
    with their values; any other ``-…`` is an unknown option, named with the model's."""
    own = own or {}
    by_flag = {s.flag: s for s in specs_}
    options, rest, i = {}, [], 0
    while i < len(args):
        arg = args[i]
        flag, eq, inline = arg.partition("=")
        if arg == "--":
            rest.extend(args[i:])
            break
        mine = own_option(arg, own)
        if mine:
            rest.extend(args[i:i + mine])
            i += mine
            continue
        spec = by_flag.get(flag)
        negated = by_flag.get("--" + flag[5:]) if flag.startswith("--no-") and not eq else None
        if spec is None and negated is not None and negated.type is bool:
            options[negated.name], i = False, i + 1
        elif spec is None and arg.startswith("-") and arg != "-":
            raise OptionError(f"model {model}: unknown option {flag} ({_listing([s.flag for s in specs_])})")
        elif spec is None:
            rest.append(arg)
            i += 1
        elif spec.type is bool:
            if eq:
                raise OptionError(f"model {model}: {flag} is a flag; write {flag} or --no-{flag[2:]}")
            options[spec.name], i = True, i + 1
        elif not eq and i + 1 >= len(args):
            raise OptionError(f"model {model}: option {flag} needs a value ({spec.details()})")
        else:
            options[spec.name] = _from_text(model, spec, inline if eq else args[i + 1])
            i += 1 if eq else 2
    return options, rest


def own_option(arg, own):
    """How many arguments a command's own option takes up here (0 if arg is not one):
    ``-o FILE`` 2, ``-oFILE``, ``--output=FILE`` and ``--pdf`` 1."""
    flag, eq, _ = arg.partition("=")
    if flag in own:
        return 2 if own[flag] and not eq else 1
    if not arg.startswith("--") and arg[:2] in own and len(arg) > 2:
        return 1
    return 0


def _from_text(model, spec, text):
    if spec.type in (int, float):
        try:
            number = spec.type(text)
        except ValueError:
            what = "a whole number" if spec.type is int else "a number"
            raise OptionError(f"model {model}: option {spec.flag} takes {what}, not {text!r}") from None
        return _value(model, spec, number, spec.flag)
    return _value(model, spec, text, spec.flag)


def _listing(names):
    return "options: " + (", ".join(names) or "none")
