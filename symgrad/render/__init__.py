"""Renderers of a Derivation: text (rich and plain), LaTeX, and the printers they share."""
