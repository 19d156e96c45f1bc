"""Session bundles: chosen artifacts (with their ancestors) and reports, carried between workspaces as one zip.

Layout of a bundle::

    bundle.json                                  # format, created, corpus_lab version, what is inside + sha256 per file
    artifacts/<kind>/<id>/<relative file path>   # an artifact folder as it is on disk, manifest.json included
    reports/<id>.json                            # report documents (``<workspace>/reports/<id>.json``)

Example::

    data = export_bundle(ws, [("vectors", vid)], reports=["a1b2c3"])   # the vectors, their tokens and corpus
    info = inspect_bundle(data)                                         # what would arrive, what is refused
    result = import_bundle(other_ws, data)                              # result.added, .existing, .problems

Import trusts nothing in the zip. The whole bundle is refused (``UserError``, nothing written) when the
bundle itself is bad: not a zip, no or unreadable ``bundle.json``, an unknown format, a member name that
points outside the bundle (``../``, absolute, backslashes, drive letters), a zip bomb (the ``ZipLimits``
caps on members, total size and ratio, enforced while inflating, in chunks), too many members. A single
artifact or report is refused (one sentence in ``problems``, the rest still imported) when only it is
bad: an unknown kind, an id that is not a safe name, a missing, unreadable or mismatching manifest, a
file whose size or sha256 disagrees with ``bundle.json``, anything that could be a pickle (by name, by
its first bytes, a .npy that does not load with ``allow_pickle=False``). Members that ``bundle.json``
does not list are never read; they are reported and ignored. Every artifact is built in
``<root>/.tmp/`` and ``os.replace``d into ``<root>/<kind>/<id>`` once the whole bundle has been read, and
an artifact already in the workspace is kept as it is.
"""


from core.bundle.checks import BUNDLE_FORMAT, BUNDLE_LIMITS, KINDS, REFUSED_SUFFIXES
from core.bundle.export import closure, export_bundle, missing_parents, write_bundle
from core.bundle.read import BundleArtifact, BundleInfo, ImportResult, _stream, import_bundle, inspect_bundle

__all__ = ["BUNDLE_FORMAT", "BUNDLE_LIMITS", "KINDS", "REFUSED_SUFFIXES", "BundleArtifact", "BundleInfo", "ImportResult",
           "_stream", "closure", "export_bundle", "import_bundle", "inspect_bundle", "missing_parents", "write_bundle"]
