"""umap-learn with numba's on-disk cache switched on, and a guard for numba's thread-unsafe layer.

umap-learn compiles its kernels with numba on first use (~10 s on 2 cores) and marks few of them
for numba's disk cache, so every new process would pay that again. :func:`load_umap` imports
umap-learn and pynndescent and turns the cache on for the rest before anything compiles; the app
then pays the compile once per machine. Kept apart from ``projection.py``: this is about the
JIT, not about maps.

Example::

    umap = load_umap()
    with numba_guard():
        umap.UMAP(...).fit(x)
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path

from core.errors import UserError

_IMPORT_LOCK = threading.Lock()
_guard = None  # see numba_guard()
_umap_module = None
_cached_dispatchers: list[str] = []  # names of the functions we switched numba's disk cache on for (for the bench)


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}-{threading.get_ident()}"
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False


def load_umap():
    """Import umap-learn with numba's on-disk cache switched on for its JIT functions.

    umap-learn 0.5 marks only ``rdist`` with ``cache=True`` (pynndescent marks most of its own), so
    every new process recompiles fuzzy_simplicial_set's and the layout optimiser's kernels: ~10 s
    on 2 cores. ``Dispatcher.enable_caching()`` is what ``cache=True`` does at decoration time, so
    calling it before the first compile gives the same on-disk cache. Two exceptions: numba keys
    its cache by the Python function, not by the jit flags, so when one function is wrapped twice
    (umap's serial and ``parallel=True`` epoch functions) only the serial twin — the one a seeded
    run uses — gets the cache; and closures built at call time are not module globals, so they
    stay uncached (umap builds some only for densMAP and custom metrics, which we don't use).

    The compiled kernels go to one folder per machine (:class:`MachineCacheLocator`), so a second
    virtual environment or a fresh clone loads them instead of compiling again. When that folder
    is not writable numba writes next to the source if site-packages is, else to its user cache;
    when neither is, ``NUMBA_CACHE_DIR`` is pointed at a temp folder. A ``NUMBA_CACHE_DIR`` set by
    the user always wins.
    """
    global _umap_module
    if _umap_module is not None:
        return _umap_module
    with _IMPORT_LOCK:
        if _umap_module is not None:
            return _umap_module
        import importlib.util

        spec = importlib.util.find_spec("umap")
        if spec is None:
            raise UserError("UMAP maps need the umap-learn package: pip install umap-learn (or choose PCA or t-SNE).")
        if "NUMBA_CACHE_DIR" not in os.environ and _writable(machine_cache_dir()):
            import numba.core.config

            numba.core.config.CACHE_LOCATOR_CLASSES = ",".join(_LOCATORS)
        elif "NUMBA_CACHE_DIR" not in os.environ:
            site = Path(spec.origin).parent / "__pycache__"
            if not _writable(site) and not _writable(_user_cache() / "numba"):
                import tempfile

                folder = Path(tempfile.gettempdir()) / f"corpus-lab-numba-{os.getuid() if hasattr(os, 'getuid') else 0}"
                os.environ["NUMBA_CACHE_DIR"] = str(folder)
                import numba.core.config

                numba.core.config.reload_config()
        import pynndescent.distances
        import pynndescent.kernels
        import pynndescent.pynndescent_
        import pynndescent.rp_trees
        import pynndescent.utils
        import umap
        import umap.layouts
        import umap.spectral
        import umap.umap_
        import umap.utils

        _enable_disk_cache([umap.umap_, umap.layouts, umap.spectral, umap.utils, pynndescent.pynndescent_,
                            pynndescent.utils, pynndescent.rp_trees, pynndescent.distances, pynndescent.kernels])
        _umap_module = umap
    return _umap_module


def _user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def machine_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/corpus-lab/numba`` (``~/.cache/...``): beside the converted models (see
    ``core.models.bundled.models_dir``), compiled once per machine."""
    return _user_cache() / "corpus-lab" / "numba"


_PACKAGES = {"umap": "umap-learn", "pynndescent": "pynndescent"}  # folder in site-packages → distribution


def _machine_locator():
    from numba.core import caching

    class MachineCacheLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
        """numba's disk cache for umap-learn and pynndescent, keyed by package, version and Python,
        not by the absolute path of the source as numba's own locators are: every virtual
        environment on the machine with the same versions shares one compiled copy. (A fresh clone
        compiled UMAP and NN-descent again: its first map took ~40 s longer.) numba still checks
        each entry against a hash of the source's content, so a mismatch compiles and replaces."""

        def __init__(self, py_func, py_file, folder: Path):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = str(folder)

        def get_cache_path(self):
            return self._cache_path

        @classmethod
        def from_function(cls, py_func, py_file):
            from importlib.metadata import PackageNotFoundError, version

            from numba.core import config

            parts = Path(py_file).parts
            if config.CACHE_DIR or "site-packages" not in parts:
                return None
            inner = parts[len(parts) - parts[::-1].index("site-packages"):-1]  # ("umap",), ("pynndescent",)
            if not inner or inner[0] not in _PACKAGES:
                return None
            try:
                tag = f"{inner[0]}-{version(_PACKAGES[inner[0]])}"
            except PackageNotFoundError:
                return None
            folder = machine_cache_dir() / f"py{sys.version_info[0]}{sys.version_info[1]}" / tag / Path(*inner[1:])
            self = cls(py_func, py_file, folder)
            try:
                self.ensure_cache_path()
            except OSError:
                return None
            return self

    return MachineCacheLocator


def __getattr__(name: str):
    # numba resolves NUMBA_CACHE_LOCATOR_CLASSES entries by import path: the class is built on first
    # use so that importing this module does not import numba.
    if name == "MachineCacheLocator":
        globals()[name] = _machine_locator()
        return globals()[name]
    raise AttributeError(name)


# Ours first; numba's own, in its order, for everything else.
_LOCATORS = ("core.umap_jit.MachineCacheLocator", "UserProvidedCacheLocator", "InTreeCacheLocator",
             "UserWideCacheLocator", "IPythonCacheLocator", "ZipCacheLocator")


def _function_typed(sig) -> bool:
    """True when a signature takes a jitted function as an argument (pynndescent passes its distance so)."""
    from numba.core import types

    def has(t) -> bool:
        if isinstance(t, types.Dispatcher | types.Function | types.FunctionType):
            return True
        return isinstance(t, types.BaseTuple) and any(has(x) for x in t.types)

    args = getattr(sig, "args", sig)
    return isinstance(args, tuple) and any(has(t) for t in args)


def _cache_class():
    from numba.core.caching import FunctionCache

    class ValueArgsCache(FunctionCache):
        """numba's disk cache, minus signatures with a function argument: the type of such an
        argument is the dispatcher object itself, which never matches after a restart, so each
        process would miss and write one more copy (pynndescent's nn_descent would grow by ~1 MB a run)."""

        def load_overload(self, sig, target_context):
            return None if _function_typed(sig) else super().load_overload(sig, target_context)

        def save_overload(self, sig, data):
            if not _function_typed(sig):
                super().save_overload(sig, data)

    return ValueArgsCache


def _enable_disk_cache(modules) -> None:
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    cache_class = _cache_class()
    by_function: dict[int, list[tuple[str, CPUDispatcher]]] = {}
    for module in modules:
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.__module__ == module.__name__:
                by_function.setdefault(id(obj.py_func), []).append((f"{module.__name__}.{name}", obj))
    for twins in by_function.values():
        uniq = list({id(d): (n, d) for n, d in twins}.values())
        if len(uniq) > 1:  # same Python function jitted with different flags: cache only the serial one
            uniq = [(n, d) for n, d in uniq if not d.targetoptions.get("parallel")][:1]
        for name, dispatcher in uniq:
            if isinstance(getattr(dispatcher, "_cache", None), NullCache) and not dispatcher.overloads:
                try:
                    dispatcher._cache = cache_class(dispatcher.py_func)  # what enable_caching() does
                    _cached_dispatchers.append(name)
                except Exception:  # e.g. no source file to key the cache by: stays uncached, still works
                    continue


def numba_guard():
    """A lock around numba's parallel kernels when its threading layer is ``workqueue``, which aborts
    the process when two threads run parallel kernels at once; omp and tbb (numba's first choices,
    omp here) are thread-safe, so maps built in parallel jobs then don't wait for each other."""
    global _guard
    if _guard is None:
        import numba
        from numba.np.ufunc import parallel

        parallel._launch_threads()  # what numba does at the first parallel call; picks the layer
        _guard = threading.RLock() if numba.threading_layer() == "workqueue" else contextlib.nullcontext()
    return _guard
