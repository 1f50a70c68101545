"""The numerical check as a page states it: the setup, and per array whether it agrees.

Pages record verdicts and tolerances, not the relative errors themselves: the errors change
with the machine's floating point (BLAS, summation order), the verdicts do not, so a page
regenerated anywhere is the same file. ``symgrad check MODEL`` prints the numbers.
"""
from .markup import LATEX
from .notation import plain_symbol
from .printer import latex

PASS, FAIL, NONE = "yes", "NO", "none"


def check_setup(report, model_name, markup=LATEX):
    """A sentence saying what was compared with what, at which sizes and tolerances."""
    sizes = ", ".join(f"{markup.text(k)}={v}" for k, v in report.sizes.items())
    steps = ", " + markup.math(f"T={report.T}") if report.T is not None else ""
    reference = (f"the hand-written NumPy reference {markup.code(report.reference)} "
                 f"(relative error at most {markup.math(_power(report.ref_tol))})" if report.reference
                 else "no hand-written reference (none exists for this model)")
    relative = markup.math(r"\max \lvert a-b \rvert / \max(\max \lvert a \rvert, \max \lvert b \rvert)")
    return (f"The compiled gradients of every parameter, input and initial state were compared in float64 "
            f"({sizes}{steps}, {markup.math(f'B={report.B}')}, seed {report.seed}) with central finite "
            f"differences (relative error at most {markup.math(_power(report.fd_tol))}) and with {reference}; "
            f"the relative error of arrays {markup.math('a')}, {markup.math('b')} is {relative}. "
            f"{markup.code('symgrad check ' + model_name)} prints the errors themselves.")


def check_rows(d, report, markup=LATEX):
    """[(array, agrees with finite differences, agrees with the reference)]."""
    rows = []
    if report.forward_ref is not None:
        rows.append(("forward pass (outputs)", NONE, _verdict(report.forward_ref, report.ref_tol)))
    for r in report.rows:
        sym = d.model.declared.get(r.array)
        name = markup.math(r"\delta " + latex(plain_symbol(sym))) if sym is not None else markup.code(r.array)
        ref = NONE if report.reference is None else _verdict(r.ref, report.ref_tol)
        rows.append((name, _verdict(r.fd, report.fd_tol), ref))
    return rows


def check_verdict(report, markup=LATEX):
    """The closing sentence: all agree, or what failed."""
    if report.passed:
        return "Every gradient agrees."
    return markup.bold("Failed:") + " " + markup.text("; ".join(report.problems))


def _verdict(err, tol):
    return FAIL if err is None or not err <= tol else PASS


def _power(x):
    """1e-06 → 10^{-6}."""
    mantissa, exponent = f"{x:.0e}".split("e")
    return ("" if mantissa == "1" else mantissa + r" \times ") + f"10^{{{int(exponent)}}}"
