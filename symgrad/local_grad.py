"""Gradients through one step, for the chain-rule forms textbooks print.

Goodfellow et al. write ∇_W L = Σ_t Σ_i (∂L/∂h_i^{(t)}) ∇_{W^{(t)}} h_i^{(t)}: the gradient of
one entry of a node with respect to the copy of a parameter used at step t. Summed against
a vector g over i it is (∂h_t/∂W)ᵀ g, a pullback through the equations of that step
(``local.local_vjp``). ∇_{W^{(t)}} L, the gradient with respect to that copy, is the sum of
what each node reading W at step t sends it, with that node's delta.
"""
from .algebra import add, rebuild
from .derive import name_nodes, pullback
from .local import local_vjp
from .symbols import Delta, Seq, Zero, shift


def entry_vjp(model, node, wrt, g):
    """Σ_i g_i ∇_wrt node_i through node's own step: (∂node/∂wrt)ᵀ g."""
    expr, seed = local_vjp(model, node, wrt)
    if isinstance(node, Seq):
        k = node.time - seed.var.time
        expr, seed = shift(expr, k, node.axis), shift(seed, k, node.axis)
    return name_nodes(rebuild(expr.xreplace({seed: g})), model)


def copy_delta(model, wrt, time):
    """∇ of the loss with respect to the copy of ``wrt`` used at one step."""
    terms = []
    for d in model.definitions:
        if not any(leaf.name == wrt.name for leaf in d.rhs.atoms(type(wrt))):
            continue
        sym = d.symbol.xreplace({d.symbol.axis: time}) if isinstance(d.symbol, Seq) else d.symbol
        rhs = d.rhs.xreplace({d.symbol.axis: time}) if isinstance(d.symbol, Seq) else d.rhs
        terms += [cot for leaf, cot in pullback(rhs, Delta(sym), sym) if leaf.name == wrt.name]
    return add(*terms) if terms else Zero(*wrt.shape)
