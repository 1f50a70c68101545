"""The two arithmetics an expression can be evaluated in at a random point.

``Field``: exact arithmetic in F_P, P = 2¹²⁷ − 1, with the element-wise functions
uninterpreted — f(v) is a fresh uniform value for every distinct argument v, the same
wherever v recurs. This is what ``verify`` decides identities in (see ``identity.py``).

``Reals``: float64 with the real functions (tanh, σ, exp, …). An identity holds here only up
to rounding; it is the independent check of the checker: two expressions the field calls
equal must agree here too, with the functions the model really computes.
"""
import hashlib
import random
from fractions import Fraction

import numpy as np

P = 2 ** 127 - 1


def _inv(x):
    if x % P == 0:
        raise ZeroDivisionError("a division by zero at the random point")
    return pow(x, P - 2, P)


_vinv = np.vectorize(_inv, otypes=[object])


def rng_for(salt, key):
    """A random stream named by what it draws for, so values do not depend on the order asked."""
    return random.Random(hashlib.blake2b(repr((salt,) + tuple(key)).encode(), digest_size=16).digest())


class Field:
    """F_P in object arrays of Python ints; uninterpreted functions."""
    exact = True

    def __init__(self, salt):
        self.salt = salt
        self.applied = {}

    def full(self, shape, fill=0):
        return np.full(shape, fill, dtype=object)

    def random(self, shape, key):
        rng = rng_for(self.salt, key)
        return np.array([rng.randrange(P) for _ in range(shape[0] * shape[1])],
                        dtype=object).reshape(shape)

    def number(self, q):
        q = Fraction(q)
        return q.numerator % P * _inv(q.denominator % P) % P

    def add(self, a, b):
        return (a + b) % P

    def sub(self, a, b):
        return (a - b) % P

    def mul(self, a, b):
        return a * b % P

    def dot(self, a, b):
        return np.dot(a, b) % P

    def inv(self, a):
        return _vinv(a)

    def power(self, a, k):
        base = self.inv(a) if k < 0 else a
        return np.vectorize(lambda q: pow(int(q), abs(k), P), otypes=[object])(base)

    def mean_rows(self, a):
        return a.sum(axis=1, keepdims=True) % P * _inv(a.shape[1]) % P

    def _fresh(self, key):
        value = self.applied.get(key)
        if value is None:
            digest = hashlib.blake2b(repr((self.salt,) + key).encode(), digest_size=16).digest()
            value = self.applied[key] = int.from_bytes(digest, "big") % P
        return value

    def apply(self, tag, a):
        """f(a) entry by entry, f uninterpreted and named by ``tag``."""
        out = self.full(a.shape)
        for idx, v in np.ndenumerate(a):
            out[idx] = self._fresh((tag, int(v)))
        return out

    def fn(self, impl, order, a):
        return self.apply((impl, order), a)

    def exp(self, a):
        return self.apply(("exp", 0), a)

    def fractional_power(self, p, a):
        return self.apply(("pow", str(p)), a)

    def rowstd(self, eps, a):
        """√(var + ε) of each row, uninterpreted: one value per distinct row."""
        out = self.full((a.shape[0], 1))
        for i in range(a.shape[0]):
            out[i, 0] = self._fresh((("rowstd", str(eps)), tuple(map(int, a[i]))))
        return out

    def equal(self, a, b):
        return a.shape == b.shape and bool(np.all((a - b) % P == 0))


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


_GELU = np.sqrt(2.0 / np.pi)


def _gelu(x):
    return 0.5 * x * (1.0 + np.tanh(_GELU * (x + 0.044715 * x ** 3)))


def _gelu_prime(x):
    u = np.tanh(_GELU * (x + 0.044715 * x ** 3))
    return 0.5 * (1.0 + u) + 0.5 * x * (1.0 - u * u) * _GELU * (1.0 + 3 * 0.044715 * x ** 2)


REAL_FUNCTIONS = {
    ("tanh", 0): np.tanh, ("sigma", 0): _sigmoid, ("exp", 0): np.exp, ("log", 0): np.log,
    ("relu", 0): lambda x: np.maximum(x, 0.0), ("step", 0): lambda x: (x > 0).astype(float),
    ("gelu", 0): _gelu, ("gelu", 1): _gelu_prime,
}


class Reals:
    """float64 with the real functions: the same evaluation, as the model computes it."""
    exact = False

    def __init__(self, salt, rtol=1e-9):
        self.salt, self.rtol = salt, rtol
        self.applied = {}

    def full(self, shape, fill=0):
        return np.full(shape, float(fill))

    def random(self, shape, key):
        rng = rng_for(self.salt, key)
        return np.array([rng.gauss(0.0, 1.0) for _ in range(shape[0] * shape[1])]).reshape(shape)

    def number(self, q):
        return float(Fraction(q))

    def add(self, a, b):
        return a + b

    def sub(self, a, b):
        return a - b

    def mul(self, a, b):
        return a * b

    def dot(self, a, b):
        return a @ b

    def inv(self, a):
        return 1.0 / a

    def power(self, a, k):
        return a ** k

    def mean_rows(self, a):
        return a.mean(axis=1, keepdims=True)

    def fn(self, impl, order, a):
        try:
            return REAL_FUNCTIONS[impl, order](a)
        except KeyError:
            raise ValueError(f"no real form for {impl} of order {order}") from None

    def exp(self, a):
        return np.exp(a - a.max())

    def fractional_power(self, p, a):
        return np.power(a, float(p))

    def rowstd(self, eps, a):
        return np.sqrt(a.var(axis=1, keepdims=True) + float(eps))

    def equal(self, a, b):
        scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0), 1e-300)
        return a.shape == b.shape and float(np.max(np.abs(a - b), initial=0.0)) <= self.rtol * scale
