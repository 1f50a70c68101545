"""The model catalog: one module per model, written with the public DSL, citing its source.

Each module has ``SUMMARY`` (one line), ``SOURCE`` (citation), ``CHECK_SIZES`` (small
sizes for the numerical check), ``REFERENCE`` (the hand-written NumPy module it is
checked against, or None), ``build(**options) -> Model`` (each option's default gives its
type) and ``OPTIONS`` (choices, minimum and help of the options; see symgrad.options).
"""
