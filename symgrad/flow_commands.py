"""The commands about gradient flow through time: ``jacobian``, ``flow`` and ``cliff``.

Each is made by a function that takes what it needs of the CLI that registers it (its
command class for a model and its options, ``model_of(ctx, name)``, or ``build_model(name,
words)`` for several models in a row), so this module does not import the CLI."""
import click
from rich.console import Console

from . import catalog
from .derive import STYLES
from .errors import SymgradError

def _emit(text, output):
    if output:
        try:
            with open(output, "w", encoding="utf-8") as out:
                out.write(text)
        except OSError as err:
            raise SymgradError(f"cannot write {output}: {err.strerror or err}") from None
    else:
        click.echo(text, nl=False)


def jacobian_command(command_class, model_of):
    @click.command("jacobian", cls=command_class)
    @click.argument("model")
    @click.argument("node", required=False)
    @click.option("--wrt", metavar="STATE", help="only the block of this state at the step before")
    @click.option("--format", "fmt", type=click.Choice(("rich", "text", "latex")), default="rich",
                  show_default=True)
    @click.option("--style", type=click.Choice(STYLES), default=None,
                  help="derivative: σ′(ō); expanded: o ⊙ (1 − o). Default: the model's source")
    @click.option("-o", "--output", type=click.Path(dir_okay=False), help="write to this file")
    @click.pass_context
    def jacobian(ctx, model, node, wrt, fmt, style, output):
        """One-step Jacobians of NODE (default: every state) of MODEL with respect to the states
        at the step before, route by route, their product over steps and its bound."""
        from .jacobian import jacobians
        jac = jacobians(model_of(ctx, model), node, wrt, style)
        if fmt == "latex":
            _emit(jac.to_latex(), output)
        elif fmt == "text" or output:
            _emit(str(jac), output)
        else:
            Console().print(jac)
    return jacobian


def model_specs(words, build_model):
    """[(label, Model)] from 'rnn lstm --variant CIFG gru': each name takes the options after it."""
    groups = []
    for word in words:
        if word.endswith(".py") or word in catalog.names():
            groups.append([word])
        elif not groups:
            raise SymgradError(f"expected a model name first, not {word!r} (catalog: {', '.join(catalog.names())})")
        else:
            groups[-1].append(word)
    if not groups:
        raise SymgradError("name at least one model, e.g. symgrad flow rnn lstm gru")
    return [(" ".join(g), build_model(g[0], g[1:])) for g in groups]


def flow_command(build_model):
    @click.command("flow", context_settings={"ignore_unknown_options": True})
    @click.argument("models", nargs=-1, type=click.UNPROCESSED)
    @click.option("--steps", "T", type=click.IntRange(2, 5000), default=50, show_default=True)
    @click.option("--radius", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
                  help="spectral radius ρ every recurrent matrix is scaled to")
    @click.option("--forget-bias", type=float, default=None,
                  help="set the LSTM's forget-gate bias b_f (1 to 3 keeps fₜ near 1)")
    @click.option("--input-scale", type=click.FloatRange(min=0, min_open=True), default=1.0,
                  show_default=True, help="standard deviation of the random inputs")
    @click.option("--size", type=click.IntRange(1, 1024), default=32, show_default=True,
                  help="every size of the model (n, m, …)")
    @click.option("--batch", type=click.IntRange(1, 4096), default=8, show_default=True)
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--plot", type=click.Path(dir_okay=False), help="write the figure: .png, .svg or .pdf")
    def flow(models, T, radius, forget_bias, input_scale, size, batch, seed, plot):
        """Measure how much of the gradient of a loss at the last step reaches step k, for
        each MODEL (options after each name: symgrad flow rnn lstm --variant CIFG gru)."""
        from .flow import flow as measure
        from .render.flow import flow_renderable
        from .render.flow_plot import check_plot_path, write_flow_plot
        if plot:
            check_plot_path(plot)
        flows = [measure(model, T, radius, forget_bias, seed, batch, size, input_scale, label)
                 for label, model in model_specs(models, build_model)]
        Console().print(flow_renderable(flows))
        if plot:
            click.echo(str(write_flow_plot(flows, plot)))
    return flow


def cliff_command():
    @click.command("cliff")
    @click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
                  help="the figure: .png, .svg or .pdf")
    @click.option("--threshold", type=click.FloatRange(min=0, min_open=True), default=None,
                  help="clip the gradient's norm to this (default 4)")
    @click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=None,
                  help="the learning rate η (default 0.05)")
    @click.option("--iterations", type=click.IntRange(1, 10000), default=None,
                  help="gradient-descent steps (default 60)")
    def cliff(output, threshold, rate, iterations):
        """Draw the cliff of Goodfellow et al. Fig. 10.17 from Pascanu et al.'s one-unit RNN:
        its loss surface and gradient descent without and with clipping (compiled vjp)."""
        from . import cliff as c
        from .render.cliff_plot import write_cliff_plot
        from .render.flow_plot import check_plot_path
        check_plot_path(output)
        threshold, rate = threshold or c.THRESHOLD, rate or c.RATE
        iterations = iterations or c.ITERATIONS
        plain = c.descend(rate=rate, iterations=iterations)
        clipped = c.descend(rate=rate, iterations=iterations, threshold=threshold)
        for name, run in (("without clipping", plain), (f"clipped to ‖g‖ ≤ {threshold:g}", clipped)):
            k = int(run.steps.argmax())
            click.echo(f"{name}: largest step {run.steps[k]:.3g} (step {k + 1}, to (w, b) = "
                       f"({run.path[k + 1][0]:.3g}, {run.path[k + 1][1]:.3g})), largest gradient norm "
                       f"{run.gradient_norms.max():.3g}, final loss {run.losses[-1]:.3g}")
        click.echo(str(write_cliff_plot(output, c.surface(), plain, clipped, threshold, rate)))
    return cliff
