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

It also makes sure numba has somewhere to cache the compiled kernels. numba writes them
beside the source (``__pycache__``) or, where that is read-only (a system-wide install), in
the user's cache folder; where neither can be written (a service account whose home is
read-only) every kernel refused to load: "cannot cache function '_leaf': no locator
available". `load_numba` then points ``NUMBA_CACHE_DIR`` at a folder of the user's in the
temporary folder (``insole-numba-<user>``). A ``NUMBA_CACHE_DIR`` that can be written is
left as it is.
"""

from __future__ import annotations

import os
import sys
import tempfile
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
        _ensure_cache_dir(numba)
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


def _can_write_in(folder: str) -> bool:
    """Whether a file can be created in `folder` (made if missing)."""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _ensure_cache_dir(numba: ModuleType) -> None:
    """Point numba's cache at a temporary folder of the user's if it has nowhere to write."""
    config = numba.config
    if config.CACHE_DIR and _can_write_in(config.CACHE_DIR):
        return
    if _can_write_in(os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")):
        return
    from numba.misc.appdirs import AppDirs

    if _can_write_in(AppDirs(appname="numba", appauthor=False).user_cache_dir):
        return
    try:
        user = str(os.getuid())  # type: ignore[attr-defined,unused-ignore]
    except AttributeError:  # pragma: no cover - Windows has no uid
        user = os.environ.get("USERNAME", "user")
    folder = os.path.join(tempfile.gettempdir(), f"insole-numba-{user}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.lstat(folder)
    except OSError:
        return
    # Compiled code is loaded from there: only a folder of this user's that no one else may
    # write (not one planted by another user in the shared temporary folder).
    own = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    if own and not st.st_mode & 0o022 and os.path.isdir(folder) and _can_write_in(folder):
        config.CACHE_DIR = folder
