"""The ``symgrad`` command. User errors print one line on stderr and exit with code 2."""
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import catalog
from . import options as model_options
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
        except click.exceptions.NoArgsIsHelpError as err:   # plain `symgrad`: the help, no error
            click.echo(err.ctx.get_help())
            sys.exit(0)
        except click.UsageError as err:
            _fail(err.format_message())
        except SymgradError as err:
            _fail(str(err))
        except click.exceptions.Exit as err:
            sys.exit(err.exit_code)


def _fail(message):
    click.echo(f"symgrad: error: {message}", err=True)
    sys.exit(2)


OPTIONS_KEY, MODEL_KEY = "symgrad.model_options", "symgrad.model"


class ModelCommand(click.Command):
    """A command about one model, named by its first argument. The model's own options
    (``--variant CIFG``) may come before or after the other arguments; ``--help`` lists
    them when a model is named. Commands added elsewhere use it with ``model_of``."""

    def parse_args(self, ctx, args):
        own = {flag: not (p.is_flag or p.count) for p in self.get_params(ctx)
               if isinstance(p, click.Option) for flag in p.opts + p.secondary_opts}
        name = self.model_name(args, own)
        ctx.meta[MODEL_KEY] = name
        if "--help" in args:
            return super().parse_args(ctx, ["--help"])
        if name is not None:
            ctx.meta[OPTIONS_KEY], args = model_options.parse_cli(
                name, catalog.option_specs(name), args, own)
        return super().parse_args(ctx, args)

    def model_name(self, args, own):
        """The first argument that names a model (or else the first argument, to be reported)."""
        candidates = _positionals(args, own)
        return next((a for a in candidates if _names_model(a)), candidates[0] if candidates else None)

    def format_options(self, ctx, formatter):
        super().format_options(ctx, formatter)
        name = ctx.meta.get(MODEL_KEY)
        try:
            specs = catalog.option_specs(name) if name else None
        except SymgradError:
            specs = None
        if specs is None:
            formatter.write_paragraph()
            formatter.write_text("A model's own options may come anywhere; name the model "
                                 "to list them (symgrad derive lstm --help).")
            return
        with formatter.section(f"Options of model {name}"):
            formatter.write_dl([row for spec in specs for row in _help_rows(spec)] or [("(none)", "")])


def _help_rows(spec):
    rows = [(spec.usage(), (spec.help + " " if spec.help else "") + f"[{spec.details()}]")]
    return rows + [("    " + choice, meaning) for choice, meaning in spec.choices.items() if meaning]


def _positionals(args, own):
    """The arguments that are not options or their values (an unknown option counts alone)."""
    out, i = [], 0
    while i < len(args):
        if args[i] == "--":
            return out + args[i + 1:]
        taken = model_options.own_option(args[i], own)
        if not taken and not args[i].startswith("-"):
            out.append(args[i])
        i += taken or 1
    return out


def _names_model(arg):
    return arg.endswith(".py") or arg in catalog.names()


def model_of(ctx, name):
    """The model a ModelCommand names, built with the options its command line gives."""
    return catalog.model(name, **ctx.meta.get(OPTIONS_KEY, {}))


def _output_file(ctx, param, value):
    """-o FILE: its directory must exist and be writable, checked before any work is done."""
    if value is not None:
        _writable(Path(value).parent, param)
    return value


def _output_dir(ctx, param, value):
    """-o DIR: made if missing; the nearest directory that exists must be writable."""
    if value is not None:
        existing = Path(value)
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        _writable(existing, param)
    return value


def _writable(directory, param):
    directory = directory if str(directory) else Path(".")
    if not directory.exists():
        raise click.BadParameter(f"directory {directory} does not exist", param=param)
    if not directory.is_dir():
        raise click.BadParameter(f"{directory} is not a directory", param=param)
    if not os.access(directory, os.W_OK):
        raise click.BadParameter(f"directory {directory} is not writable", param=param)


@contextmanager
def _writing(path):
    """A failed write (disk full, permissions, a vanished directory) as one line, not a traceback."""
    try:
        yield
    except OSError as err:
        raise SymgradError(f"cannot write {err.filename or path}: {err.strerror or err}") from None


def _write(text, output):
    if output:
        with _writing(output):
            Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@click.group(cls=_Group)
@click.version_option(package_name="symgrad")
def main():
    """Derive, print and check the backpropagation equations of neural network models."""


@main.command("list")
def list_models():
    """The models in the catalog: name, what it is, its options, its source."""
    table = Table("model", "what", "options", "source", box=None, header_style="bold")
    for name in catalog.names():
        mod = catalog.entry(name)
        options = "\n".join(spec.usage() for spec in catalog.option_specs(name))
        table.add_row(name, mod.SUMMARY, options, mod.SOURCE)
    Console().print(table)
    click.echo("Options go anywhere after the command; symgrad derive MODEL --help explains them.")


@main.command("derive", cls=ModelCommand)
@click.argument("model")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="rich", show_default=True,
              help="rich for the terminal, text for pipes, latex for papers")
@click.option("--style", type=click.Choice(STYLES), default=None,
              help="derivative: σ′(ō); expanded: o ⊙ (1 − o). Default: the model's source")
@click.option("-o", "--output", type=click.Path(dir_okay=False), callback=_output_file,
              help="write to this file")
@click.option("--truncate", type=click.IntRange(min=1), metavar="K",
              help="truncated BPTT: no gradient between chunks of K steps, the cut written out")
@click.pass_context
def derive_cmd(ctx, model, fmt, style, output, truncate):
    """Derive MODEL (a catalog name or a model file .py) and print its equations."""
    d = derive(model_of(ctx, model), style, truncate)
    if fmt == "latex":
        _write(d.to_latex(), output)
    elif fmt == "text" or output:
        _write(str(d), output)
    else:
        Console().print(d)


@main.command(cls=ModelCommand)
@click.argument("model")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, callback=_output_file,
              help="the .py file to write")
@click.option("--dtype", type=click.Choice(("float64", "float32")), default="float64", show_default=True)
@click.pass_context
def codegen(ctx, model, output, dtype):
    """Write a standalone NumPy module (forward, vjp, value_and_grad) for MODEL."""
    from .codegen import module_source
    _write(module_source(derive(model_of(ctx, model), "expanded"), dtype), output)


@main.command(cls=ModelCommand)
@click.argument("model")
@click.option("--steps", "T", type=click.IntRange(1, 50), default=4, show_default=True)
@click.option("--batch", "B", type=click.IntRange(1, 16), default=3, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--dtype", type=click.Choice(("float64", "float32")), default="float64", show_default=True,
              help="float32 also compares the float32 code with float64")
@click.pass_context
def check(ctx, model, T, B, seed, dtype):
    """Compare MODEL's compiled gradients with finite differences and its NumPy reference.

    The sizes are the model's CHECK_SIZES, or else a distinct small size per dimension.
    Exit code 0 only if every array agrees."""
    from .check import check as run_check
    from .render.report import check_table
    built = model_of(ctx, model)
    options = ctx.meta.get(OPTIONS_KEY, {})
    report = run_check(derive(built), catalog.check_sizes(model, built, avoid=(T, B)),
                       catalog.reference(model, options), T=T, B=B, seed=seed, dtype=dtype)
    Console().print(check_table(report))
    sys.exit(0 if report.passed else 1)


class _VerifyCommand(ModelCommand):
    """verify names its model with --model or a 'model:' line of the file, not an argument."""

    def model_name(self, args, own):
        for i, arg in enumerate(args):
            if arg == "--model" and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith("--model="):
                return arg.partition("=")[2]
        files = [a for a in _positionals(args, own) if Path(a).is_file()]
        return _file_directives(files[0])[0] if files else None


def _file_directives(file):
    """(model, its options, aliases, lines) of a hand derivation; a model file named there is
    looked for beside the derivation."""
    from .hand import directives
    from .parse import read_lines
    lines = read_lines(file)
    named, options, aliases = directives(lines)
    if named and named.endswith(".py") and not Path(named).is_absolute():
        named = str(Path(file).parent / named)
    return named, options, aliases, lines


@main.command(cls=_VerifyCommand)
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
    from .render.verify_report import verify_renderable
    from .hand import truncation
    from .verify import verify_lines
    named, file_options, aliases, lines = _file_directives(file)
    name = model_name or named
    if name is None:
        raise SymgradError(f"{file}: no 'model:' line; name the model with --model")
    from_file, _ = model_options.parse_cli(name, catalog.option_specs(name), file_options)
    options = {**from_file, **ctx.meta.get(OPTIONS_KEY, {})}
    truncate = truncate or truncation(lines)
    report = verify_lines(lines, derive(catalog.model(name, **options), truncate=truncate), file, aliases)
    if not report.verdicts:
        raise SymgradError(f"{file}: no equation found (one equation a line, such as dh[t] = …)")
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        Console().print(verify_renderable(report))
    sys.exit(report.exit_code)


@main.command(cls=ModelCommand)
@click.argument("model")
@click.argument("node")
@click.pass_context
def paths(ctx, model, node):
    """Every route from NODE to the outputs of MODEL, the term each adds, and their sum."""
    from .render.paths import paths_renderable
    Console().print(paths_renderable(derive(model_of(ctx, model)), node))


@main.command(cls=ModelCommand)
@click.argument("model")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, callback=_output_file,
              help="the file to write: .dot, .svg, .png or .pdf")
@click.pass_context
def graph(ctx, model, output):
    """Draw the computational graph of MODEL (recurrent edges dashed)."""
    from .render.graph import write_graph
    with _writing(output):
        write_graph(model_of(ctx, model), output)


@main.command(cls=ModelCommand)
@click.argument("model", required=False)
@click.option("-o", "--output", "directory", type=click.Path(file_okay=False), required=True,
              callback=_output_dir, help="the directory to write the sheet(s) to (made if missing)")
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
        files, d = edition(model, ctx.meta.get(OPTIONS_KEY, {}), version("symgrad"), None, markdown)
        models = {next(n for n in files if n.endswith(".tex"))[:-4]: d.model}
    with _writing(directory):
        written, kept = write(directory, files, pdf, models)
    for path in written:
        click.echo(f"wrote {path}" + (f" and {path.with_suffix('.pdf').name}" if pdf and path.suffix == ".tex" else ""))
    if kept:
        click.echo(f"{len(kept)} file(s) unchanged (their content is current; the date they were checked is kept)")


def _model(name, words):
    """A model built with the options among ``words`` (for the commands that name several)."""
    options, rest = model_options.parse_cli(name, catalog.option_specs(name), words)
    if rest:
        raise SymgradError(f"unexpected argument {rest[0]!r} after model {name}")
    return catalog.model(name, **options)


main.add_command(jacobian_command(ModelCommand, model_of))
main.add_command(flow_command(_model))
main.add_command(cliff_command())
