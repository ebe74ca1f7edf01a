"""Import numba for the compiled kernels without the optional modules it would load with it.

numba loads the implementations of everything it can compile the first time it compiles a
function or loads one from its cache (the CPU target's "registries"). Two of them import large
optional packages that no kernel of this project uses:

- ``numba.np.arraymath`` imports ``scipy.linalg.cython_blas`` to decide whether ``np.dot``,
  ``np.convolve`` and ``np.correlate`` may call BLAS; with scipy installed this imports
  ``scipy.linalg`` and, through it, ``numpy.f2py`` and scipy's array-API layer (about 0.2 s of
  a process's start-up, measured with bench/startup_speed.py);
- ``numba.core.typing.cffi_utils`` imports ``cffi`` and ``pycparser`` to type cffi functions
  (10-40 ms).

`load_numba` imports numba and loads those registries once with both imports refused, so that
numba takes its fallbacks (an inner-product loop instead of BLAS in ``np.convolve`` and
``np.correlate``; no cffi support in compiled code; ``np.dot`` still finds BLAS when a
function using it is compiled). Later imports of scipy or cffi by anyone are unaffected.
Call it before the first compiled function of the process runs; after that it changes
nothing.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType

__all__ = ["load_numba"]

#: Modules numba imports while loading its registries that no kernel here needs.
_REFUSED = ("scipy.linalg.cython_blas", "cffi")

_LOCK = threading.Lock()
_READY = False


def load_numba() -> ModuleType:
    """Import numba and load its CPU target without scipy.linalg and cffi; return numba.

    Returns
    -------
    module
        numba.

    Raises
    ------
    ImportError
        If numba is not installed.
    """
    global _READY
    import numba

    if _READY:
        return numba
    with _LOCK:
        if _READY:
            return numba
        from numba.core.registry import cpu_target

        refused = [m for m in _REFUSED if m not in sys.modules]
        for name in refused:
            sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
        try:
            cpu_target.target_context.refresh()  # also refreshes the typing context
        finally:
            for name in refused:
                if sys.modules.get(name, False) is None:
                    del sys.modules[name]
        _READY = True
    return numba
