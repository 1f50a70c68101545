"""Hand-written NumPy implementations from the source papers, the independent side of `symgrad check`."""
