"""Which derivations the repository publishes: every catalog model with its default options,
and the options worth a page of their own. Each has a file name (its slug) and a title.
"""
import inspect
import re

from .. import catalog

NOTABLE = {
    "rnn": [{"layers": 2}, {"bidirectional": True}],
    "lstm": [{"variant": v} for v in ("NIG", "NFG", "NOG", "NIAF", "NOAF", "NP", "CIFG", "FGR")]
    + [{"layers": 2, "bidirectional": True}],
    "gru": [{"variant": "cudnn"}, {"layers": 2, "bidirectional": True}],
    "attention": [{"causal": True}, {"padding": True}],
    "mha": [{"causal": True}],
    "transformer": [{"pre_ln": True}, {"causal": True}, {"gelu": True}],
}


def editions():
    """[(model name, options)]: each catalog model as built by default, then its notable options."""
    out = []
    for name in catalog.names():
        out.append((name, {}))
        out += [(name, dict(options)) for options in NOTABLE.get(name, [])]
    return out


def slug(name, options, base=None):
    """The file name of an edition: lstm, lstm-cifg, gru-layers-2-bidirectional, transformer-pre-ln.

    ``base`` is the model's own name where ``name`` is a file path. Options come in the order
    build() declares them; a flag gives its name, a choice its value, a number its name and value."""
    order = list(inspect.signature(catalog.entry(name).build).parameters)
    parts = [base or name]
    for key in sorted(options, key=order.index):
        value = options[key]
        if value is True:
            parts.append(key.replace("_", "-"))
        elif value is False:
            continue
        elif isinstance(value, str):
            parts.append(value.lower())
        else:
            parts.append(f"{key.replace('_', '-')}-{value}")
    return re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(parts))     # a file name, whatever a value holds


def option_text(options):
    """--variant CIFG --layers 2, as the command line takes the options."""
    return " ".join(f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}") for k, v in options.items())
