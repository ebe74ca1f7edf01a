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

`load_numba` imports numba and arranges for those registries to be loaded with both imports
refused, so that numba takes its fallbacks (an inner-product loop instead of BLAS in
``np.convolve`` and ``np.correlate``; no cffi support in compiled code; ``np.dot`` still finds
BLAS when a function using it is compiled). Later imports of scipy or cffi by anyone are
unaffected. Call it before the first compiled function of the process runs; after that it
changes nothing.

The registries are loaded only when something is compiled. numba loads them before it reads
a kernel from its cache too, although machine code read from the cache needs none of them,
only numba's runtime (NRT): `load_numba` reads this project's kernels without them (`insole
analyze` on an hour's recording, warm: 0.91-0.97 s before, 0.79-0.84 s after, 2026-12-07;
bench/startup_speed.py). Other packages' kernels load as numba loads them.

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
from typing import Any

__all__ = ["load_numba"]

#: Modules numba imports while loading its registries that no kernel here needs.
_REFUSED = ("scipy.linalg.cython_blas", "cffi")

#: The packages whose kernels `_load_lean` reads from the cache without the registries.
_PACKAGES = frozenset({"insole", "firmware_protocol"})

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

        context = cpu_target.target_context
        if not _load_lean(numba, context):
            _refresh_refusing(context)  # pragma: no cover - another numba's cache layout
        _READY = True
    return numba


def _refresh_refusing(context: Any) -> None:
    """``context.refresh()`` (numba's registries) with the `_REFUSED` imports refused."""
    refused = [m for m in _REFUSED if m not in sys.modules]
    for name in refused:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        context.refresh()  # the target context's also refreshes the typing context
    finally:
        for name in refused:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


def _ours(func: Any) -> bool:
    """Whether ``func`` is a function of this project (its kernels)."""
    module = getattr(func, "__module__", None) or ""
    return module.split(".", 1)[0] in _PACKAGES


def _load_lean(numba: ModuleType, context: Any) -> bool:
    """Load this project's kernels from numba's cache without loading the registries.

    numba's `Cache.load_overload` refreshes the target context before it reads a kernel from
    the cache: it imports the implementations of everything numba can compile (about 0.13 s
    of every process's start-up here, measured with bench/startup_speed.py), although a
    kernel read from the cache is machine code that needs none of them, only numba's runtime
    (NRT) set up. For this project's kernels the cache load sets up the NRT and reads the
    kernel; a kernel that must be compiled (no cache, or a stale one) still gets the full
    refresh, from numba's compiler, and the context's first refresh is made with `_REFUSED`
    refused as before. Other packages' kernels load as numba loads them.

    Returns False (nothing changed) if this numba's cache lacks the methods relied on.
    """
    from numba.core import caching

    cache = caching.Cache
    if not (
        hasattr(cache, "_load_overload")
        and hasattr(cache, "_guard_against_spurious_io_errors")
        and callable(getattr(context, "refresh", None))
    ):
        return False
    try:
        from numba.core.runtime import rtsys
    except ImportError:  # pragma: no cover - another numba
        return False
    numba_load = cache.load_overload
    if getattr(numba_load, "_insole_lean", False):
        return True

    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        if not _ours(getattr(self, "_py_func", None)):
            return numba_load(self, sig, target_context)
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)
        return None  # the guard swallowed an I/O error: compile instead

    load_overload._insole_lean = True  # type: ignore[attr-defined]
    cache.load_overload = load_overload  # type: ignore[method-assign]

    # The first refreshes (numba's compiler refreshes the typing context, then the target
    # context; or another package's cache load) refuse the optional imports: both contexts
    # get a wrapper that calls numba's own refresh with them refused and then removes itself.
    for ctx in (context.typing_context, context):
        _refuse_at_first_refresh(ctx)
    return True


def _refuse_at_first_refresh(ctx: Any) -> None:
    """Make the first ``ctx.refresh()`` run with `_REFUSED` refused (later ones: numba's own)."""

    def refresh() -> None:
        ctx.__dict__.pop("refresh", None)  # numba's method again
        _refresh_refusing(ctx)

    ctx.refresh = refresh


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
