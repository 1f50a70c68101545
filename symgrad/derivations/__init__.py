"""The model catalog: one module per model, written with the public DSL, citing its source.

Each module has ``SUMMARY`` (one line), ``SOURCE`` (citation), ``CHECK_SIZES`` (small
sizes for the numerical check), ``REFERENCE`` (the hand-written NumPy module it is
checked against, or None) and ``build(**options) -> Model``.
"""
