"""The ``symgrad`` command. User errors print one line on stderr and exit with code 2."""
import inspect
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import catalog
from .derive import STYLES, derive
from .flow_commands import cliff_command, flow_command, jacobian_command
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
@click.option("--truncate", type=click.IntRange(min=1), metavar="K",
              help="truncated BPTT: no gradient between chunks of K steps, the cut written out")
@click.pass_context
def derive_cmd(ctx, model, fmt, style, output, truncate):
    """Derive MODEL (a catalog name or a model file .py) and print its equations.

    Model options follow the name, e.g. --variant CIFG."""
    d = derive(_model(model, ctx.args), style, truncate)
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
@click.option("--truncate", type=click.IntRange(min=1), metavar="K",
              help="judge against truncated BPTT in chunks of K steps (before the file's 'truncate:' line)")
@click.pass_context
def verify(ctx, file, model_name, fmt, truncate):
    """Check a hand derivation (LaTeX or plain text, one equation a line) against the derivation.

    Every equation gets a status: right, wrong, unreadable, forward (a forward equation that
    agrees with the model), defined or not checkable. Exit code 1 if any equation is wrong,
    else 2 if any is unreadable or the file has none, else 0."""
    import json
    from .parse import read_lines
    from .render.verify_report import verify_renderable
    from .hand import directives, truncation
    from .verify import verify_lines
    lines = read_lines(file)
    named, file_options, aliases = directives(lines)
    if named and named.endswith(".py") and not Path(named).is_absolute():
        named = str(Path(file).parent / named)      # a model file beside the derivation
    name = model_name or named
    if name is None:
        raise SymgradError(f"{file}: no 'model:' line; name the model with --model")
    options = _options(name, file_options + list(ctx.args))
    written = truncation(lines)
    truncate = truncate or written
    report = verify_lines(lines, derive(catalog.model(name, **options), truncate=truncate), file, aliases)
    if not report.verdicts:
        raise SymgradError(f"{file}: no equation found (one equation a line, such as dh[t] = …)")
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        Console().print(verify_renderable(report))
    sys.exit(report.exit_code)


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
@click.option("--markdown", is_flag=True, help="also the derivation as a Markdown page with math (MODEL.md)")
@click.option("--all", "every", is_flag=True,
              help="every catalog model and its notable options, and an index: the repository's derivations/")
@click.pass_context
def sheet(ctx, model, directory, pdf, markdown, every):
    """Write the derivation sheet of MODEL: notation, graph, routes, equations, checks.

    `symgrad sheet --all -o derivations --markdown` regenerates the repository's derivations/."""
    from importlib.metadata import version
    from .publish import catalog_files, edition, write
    if every == bool(model):
        raise SymgradError("give a MODEL or --all, not both or neither")
    if every:
        files, models = catalog_files(version("symgrad"))
        if not markdown:
            files = {name: text for name, text in files.items() if name.endswith(".tex")}
    else:
        files, d = edition(model, _options(model, ctx.args), version("symgrad"), None, markdown)
        models = {next(n for n in files if n.endswith(".tex"))[:-4]: d.model}
    written, kept = write(directory, files, pdf, models)
    for path in written:
        click.echo(f"wrote {path}" + (f" and {path.with_suffix('.pdf').name}" if pdf and path.suffix == ".tex" else ""))
    if kept:
        click.echo(f"{len(kept)} file(s) unchanged (their content is current; the date they were checked is kept)")


main.add_command(jacobian_command(_model))
main.add_command(flow_command(_model))
main.add_command(cliff_command())
