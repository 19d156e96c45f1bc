"""Make a big plotly figure small and quick to open, without losing a point.

A word map of 50,000 points carries, besides its coordinates, what only the app needs: each
point's row number in ``customdata`` (for lasso selections), 64-bit coordinates, a marker size per
point that is the same for all. ``slim_figure`` keeps every point, its text and its hover, and:

- stores x/y/z as float32 typed arrays (plotly's ``{"dtype": "f4", "bdata": …}``: about 7
  significant digits, 5.3 bytes a number in the file instead of ~20 as JSON text);
- keeps only the ``customdata`` columns a ``hovertemplate``/``texttemplate`` shows, and none when
  none is shown; drops ``ids`` (object constancy for animations);
- turns a per-point marker size, colour or opacity that is the same everywhere into one value, and
  numeric ones into float32;
- draws an SVG ``scatter`` of ≥ 5,000 points as ``scattergl`` (WebGL opens it far faster).

Figures with fewer than ``min_points`` scatter points come back unchanged.
"""

from __future__ import annotations

import base64
import re

import numpy as np

SLIM_MIN_POINTS = 10_000  # a figure with at least this many scatter points is slimmed
GL_MIN_POINTS = 5_000  # an SVG scatter trace with at least this many points becomes scattergl
SCATTERS = ("scatter", "scattergl", "scatter3d")
_COORDS = ("x", "y", "z")
_MARKER_ARRAYS = ("size", "color", "opacity")
_TYPED = {"f8": "<f8", "f4": "<f4", "i4": "<i4", "u4": "<u4", "i2": "<i2", "u2": "<u2", "i1": "i1", "u1": "u1",
          "u1c": "u1"}
_CUSTOM = re.compile(r"%\{customdata(?:\[(\d+)\])?")


def slim_figure(fig: dict, *, min_points: int = SLIM_MIN_POINTS) -> dict:
    """A copy of plotly figure JSON ``fig`` with its scatter traces slimmed (see the module's doc).

    The input is never changed; every point of every trace is kept, with its text and hovertext."""
    data = fig.get("data") or []
    total = sum(_points(t) for t in data if isinstance(t, dict) and t.get("type", "scatter") in SCATTERS)
    if total < min_points:
        return {**fig}
    return {**fig, "data": [_slim_trace(t) if isinstance(t, dict) and t.get("type", "scatter") in SCATTERS else t
                            for t in data]}


def points_in(fig: dict) -> int:
    """How many points the scatter traces of ``fig`` hold."""
    return sum(_points(t) for t in fig.get("data") or [] if isinstance(t, dict) and t.get("type", "scatter") in SCATTERS)


def decode(value) -> np.ndarray | None:
    """A plotly typed array (``{"dtype", "bdata"[, "shape"]}``) or a list of numbers as an array; None otherwise."""
    if isinstance(value, dict) and "bdata" in value and value.get("dtype") in _TYPED:
        try:
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=_TYPED[value["dtype"]])
        except (ValueError, TypeError):
            return None
        shape = value.get("shape")
        if shape:
            try:
                array = array.reshape([int(s) for s in str(shape).split(",")])
            except ValueError:
                return None
        return array
    if isinstance(value, list) and value and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return np.asarray(value)
    return None


def encode(array: np.ndarray) -> dict:
    """A 1-D array as plotly's typed array: float32 for floats, int32 for integers that fit."""
    if array.dtype.kind in "iu" and (array.size == 0 or (array.min() >= -(2**31) and array.max() < 2**31)):
        array, dtype = array.astype("<i4"), "i4"
    else:
        array, dtype = array.astype("<f4"), "f4"
    return {"dtype": dtype, "bdata": base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")}


def _points(trace: dict) -> int:
    for key in _COORDS + ("text",):
        value = trace.get(key)
        array = decode(value)
        if array is not None:
            return len(array)
        if isinstance(value, list):
            return len(value)
    return 0


def _slim_trace(trace: dict) -> dict:
    out = dict(trace)
    n = _points(trace)
    for key in _COORDS:
        array = decode(trace.get(key))
        if array is not None and array.ndim == 1 and (array.dtype.kind == "f" and array.dtype.itemsize > 4
                                                      or isinstance(trace.get(key), list)):
            out[key] = encode(array)
    out.pop("ids", None)
    _slim_customdata(out)
    marker = trace.get("marker")
    if isinstance(marker, dict):
        marker = dict(marker)
        for key in _MARKER_ARRAYS:
            marker[key] = _one_or_slim(marker.get(key))
            if marker[key] is None:
                marker.pop(key)
        out["marker"] = marker
    if out.get("type", "scatter") == "scatter" and n >= GL_MIN_POINTS:
        out["type"] = "scattergl"
    return out


def _one_or_slim(value):
    """One value where every point has the same; float32 where they are numbers; else as it was."""
    array = decode(value)
    if array is not None and array.ndim == 1:
        if len(array) and (array == array[0]).all():
            return array[0].item()
        return encode(array) if array.dtype.kind == "f" and array.dtype.itemsize > 4 or isinstance(value, list) else value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value) and len(set(value)) == 1:
        return value[0]
    return value


def _slim_customdata(trace: dict) -> None:
    """Keep only the customdata columns the hover or text template shows; renumber the template."""
    if "customdata" not in trace:
        return
    templates = {k: trace[k] for k in ("hovertemplate", "texttemplate") if isinstance(trace.get(k), str)}
    if any(k in trace and not isinstance(trace[k], str) for k in ("hovertemplate", "texttemplate")):
        return  # a template per point: leave the data alone
    used = [m.group(1) for t in templates.values() for m in _CUSTOM.finditer(t)]
    if not used:
        trace.pop("customdata")
        return
    custom = trace["customdata"]
    if any(u is None for u in used) or not isinstance(custom, list) or not all(isinstance(r, list) for r in custom):
        return  # the whole customdata is shown, or it is not a list of rows: keep it as it is
    columns = sorted({int(u) for u in used})
    if any(c >= len(r) for r in custom for c in columns):
        return
    if len(columns) == 1:
        (c,) = columns
        trace["customdata"] = [r[c] for r in custom]
        rename = {c: ""}
    else:
        trace["customdata"] = [[r[c] for c in columns] for r in custom]
        rename = {c: f"[{i}]" for i, c in enumerate(columns)}
    for key, template in templates.items():
        trace[key] = _CUSTOM.sub(lambda m: "%{customdata" + rename[int(m.group(1))], template)
