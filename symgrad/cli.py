"""The ``symgrad`` command. User errors print one line on stderr and exit with code 2."""
import inspect
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import catalog
from .derive import STYLES, derive
from .errors import SymgradError

FORMATS = ("rich", "text", "latex")


class _Group(click.Group):
    """Usage errors as one line, exit 2, like every other user error."""

    def main(self, args=None, **kwargs):
        try:
            return super().main(args=args, standalone_mode=False, **kwargs)
        except click.exceptions.Abort:
            sys.exit(1)
        except click.UsageError as err:
            _fail(err.format_message())
        except SymgradError as err:
            _fail(str(err))
        except click.exceptions.Exit as err:
            sys.exit(err.exit_code)


def _fail(message):
    click.echo(f"symgrad: error: {message}", err=True)
    sys.exit(2)


MODEL_COMMAND = dict(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


def _options(name, extra):
    """``--key value`` and ``--flag`` after the model name, typed by the model's build()."""
    params = inspect.signature(catalog.entry(name).build).parameters
    options, i = {}, 0
    while i < len(extra):
        arg = extra[i]
        if not arg.startswith("--"):
            raise SymgradError(f"unexpected argument {arg!r}")
        key = arg[2:].replace("-", "_")
        if key not in params:
            known = ", ".join("--" + p.replace("_", "-") for p in params) or "none"
            raise SymgradError(f"model {name}: unknown option {arg} (options: {known})")
        default = params[key].default
        if isinstance(default, bool):
            options[key], i = True, i + 1
            continue
        if i + 1 >= len(extra):
            raise SymgradError(f"option {arg} needs a value")
        value = extra[i + 1]
        if isinstance(default, int):
            try:
                value = int(value)
            except ValueError:
                raise SymgradError(f"option {arg} takes a whole number, not {value!r}") from None
        options[key], i = value, i + 2
    return options


def _model(name, extra):
    return catalog.model(name, **_options(name, extra))


def _write(text, output):
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@click.group(cls=_Group)
@click.version_option(package_name="symgrad")
def main():
    """Derive, print and check the backpropagation equations of neural network models."""


@main.command("list")
def list_models():
    """The models in the catalog: name, what it is, its source."""
    table = Table("model", "what", "source", box=None, header_style="bold")
    for name in catalog.names():
        mod = catalog.entry(name)
        table.add_row(name, mod.SUMMARY, mod.SOURCE)
    Console().print(table)


@main.command("derive", **MODEL_COMMAND)
@click.argument("model")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="rich", show_default=True,
              help="rich for the terminal, text for pipes, latex for papers")
@click.option("--style", type=click.Choice(STYLES), default=None,
              help="derivative: σ′(ō); expanded: o ⊙ (1 − o). Default: the model's source")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write to this file")
@click.pass_context
def derive_cmd(ctx, model, fmt, style, output):
    """Derive MODEL (a catalog name or a model file .py) and print its equations.

    Model options follow the name, e.g. --variant CIFG."""
    d = derive(_model(model, ctx.args), style)
    if fmt == "latex":
        _write(d.to_latex(), output)
    elif fmt == "text" or output:
        _write(str(d), output)
    else:
        Console().print(d)


@main.command(**MODEL_COMMAND)
@click.argument("model")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="the .py file to write")
@click.option("--dtype", type=click.Choice(("float64", "float32")), default="float64", show_default=True)
@click.pass_context
def codegen(ctx, model, output, dtype):
    """Write a standalone NumPy module (forward, vjp, value_and_grad) for MODEL."""
    from .codegen import module_source
    _write(module_source(derive(_model(model, ctx.args), "expanded"), dtype), output)


@main.command(**MODEL_COMMAND)
@click.argument("model")
@click.option("--steps", "T", type=click.IntRange(1, 50), default=4, show_default=True)
@click.option("--batch", "B", type=click.IntRange(1, 16), default=3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--dtype", type=click.Choice(("float64", "float32")), default="float64", show_default=True,
              help="float32 also compares the float32 code with float64")
@click.pass_context
def check(ctx, model, T, B, seed, dtype):
    """Compare MODEL's compiled gradients with finite differences and its NumPy reference.

    Exit code 0 only if every array agrees."""
    from .check import check as run_check
    from .render.report import check_table
    mod = catalog.entry(model)
    sizes = getattr(mod, "CHECK_SIZES", None)
    if not sizes:
        raise SymgradError(f"model {model} gives no CHECK_SIZES for the numerical check")
    options = _options(model, ctx.args)
    report = run_check(derive(catalog.model(model, **options)), sizes,
                       catalog.reference(model, options), T=T, B=B, seed=seed, dtype=dtype)
    Console().print(check_table(report))
    sys.exit(0 if report.passed else 1)


@main.command(**MODEL_COMMAND)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--model", "model_name", help="the model, if the file has no 'model:' line")
@click.option("--format", "fmt", type=click.Choice(("rich", "json")), default="rich", show_default=True)
@click.pass_context
def verify(ctx, file, model_name, fmt):
    """Check a hand derivation (LaTeX or plain text, one equation a line) against the derivation.

    Exit code 0 if every equation given is right, 1 if one is wrong, 2 if the file cannot be read."""
    import json
    from .parse import read_lines
    from .render.verify_report import verify_renderable
    from .verify import directives, verify_lines
    lines = read_lines(file)
    named, file_options, aliases = directives(lines)
    name = model_name or named
    if name is None:
        raise SymgradError(f"{file}: no 'model:' line; name the model with --model")
    options = _options(name, file_options + list(ctx.args))
    report = verify_lines(lines, derive(catalog.model(name, **options)), file, aliases)
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        Console().print(verify_renderable(report))
    sys.exit(0 if report.correct else 1)


@main.command(**MODEL_COMMAND)
@click.argument("model")
@click.argument("node")
@click.pass_context
def paths(ctx, model, node):
    """Every route from NODE to the outputs of MODEL, the term each adds, and their sum."""
    from .render.paths import paths_renderable
    Console().print(paths_renderable(derive(_model(model, ctx.args)), node))


@main.command(**MODEL_COMMAND)
@click.argument("model")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="the file to write: .dot, .svg, .png or .pdf")
@click.pass_context
def graph(ctx, model, output):
    """Draw the computational graph of MODEL (recurrent edges dashed)."""
    from .render.graph import write_graph
    write_graph(_model(model, ctx.args), output)


@main.command(**MODEL_COMMAND)
@click.argument("model", required=False)
@click.option("-o", "--output", "directory", type=click.Path(file_okay=False), required=True,
              help="the directory to write the sheet(s) to")
@click.option("--pdf", is_flag=True, help="compile to PDF with pdflatex (no shell escape)")
@click.option("--all", "every", is_flag=True, help="a sheet for every model of the catalog")
@click.pass_context
def sheet(ctx, model, directory, pdf, every):
    """Write the derivation sheet of MODEL: notation, graph, routes, equations, checks."""
    from importlib.metadata import version
    from .check import check as run_check
    from .render.sheet import write_sheet
    if every == bool(model):
        raise SymgradError("give a MODEL or --all, not both or neither")
    names = catalog.names() if every else [model]
    for name in names:
        options = _options(name, [] if every else ctx.args)
        d = derive(catalog.model(name, **options))
        sizes = getattr(catalog.entry(name), "CHECK_SIZES", None)
        report = run_check(d, sizes, catalog.reference(name, options)) if sizes else None
        out = Path(directory) / name if every else Path(directory)
        tex = write_sheet(d, out, report, pdf, version("symgrad"))
        click.echo(str(tex.with_suffix(".pdf") if pdf else tex))
