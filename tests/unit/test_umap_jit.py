"""numba's disk cache for UMAP: one compiled copy per machine, whichever virtual environment asks."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import umap_jit


def _function_in(path: Path):
    """A function whose source file is ``path`` (numba keys its cache by the function's file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("def kernel(x):\n    return x\n")
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace["kernel"]


def test_two_environments_share_one_folder_per_package_version_and_python(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    locator = umap_jit.MachineCacheLocator
    site = "lib/python3.11/site-packages"
    first = locator.from_function(f := _function_in(tmp_path / "clone-a" / site / "umap/layouts.py"), f.__code__.co_filename)
    second = locator.from_function(g := _function_in(tmp_path / "clone-b" / site / "umap/layouts.py"), g.__code__.co_filename)
    assert first.get_cache_path() == second.get_cache_path()
    assert Path(first.get_cache_path()).is_relative_to(tmp_path / "cache" / "corpus-lab" / "numba")
    assert "umap-0.5" in first.get_cache_path()  # the version is part of the key
    # numba still checks the source: the stamp is a hash of the file's content
    assert first.get_source_stamp() == second.get_source_stamp()
    (tmp_path / "clone-b" / site / "umap/layouts.py").write_text("def kernel(x):\n    return x + 1\n")
    assert first.get_source_stamp() != locator.from_function(g, g.__code__.co_filename).get_source_stamp()


def test_other_code_and_a_users_cache_dir_are_left_to_numba(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    locator = umap_jit.MachineCacheLocator
    elsewhere = _function_in(tmp_path / "lib/python3.11/site-packages/other/mod.py")
    assert locator.from_function(elsewhere, elsewhere.__code__.co_filename) is None
    project = _function_in(tmp_path / "project/core/mod.py")
    assert locator.from_function(project, project.__code__.co_filename) is None
    from numba.core import config

    umap_fn = _function_in(tmp_path / "lib/python3.11/site-packages/umap/umap_.py")
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "numba"))
    assert locator.from_function(umap_fn, umap_fn.__code__.co_filename) is None


def test_umaps_kernels_are_cached_in_the_machine_folder():
    umap_jit.load_umap()
    import pynndescent.utils
    from numba.core.registry import CPUDispatcher

    cached = [d for d in vars(pynndescent.utils).values() if isinstance(d, CPUDispatcher) and d._cache.cache_path]
    if not umap_jit._writable(umap_jit.machine_cache_dir()):
        pytest.skip("no writable user cache here: numba's own locations are used")
    assert cached and all(Path(d._cache.cache_path).is_relative_to(umap_jit.machine_cache_dir()) for d in cached)
