"""Safe .npz input and deterministic, atomic .npz output.

Reading never unpickles (a pickle can run code), and every failure becomes one ModelError line
naming the file. Writing produces the same bytes for the same arrays (fixed zip timestamps, no
compression, fixed key order) and renames a finished temporary file into place, so a crash never
leaves a half-written archive that looks complete.
"""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import LayoutgenError, ModelError

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"
_PICKLE_PROTOCOL_BYTE = 0x80
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def sniff(path: str | os.PathLike) -> str:
    """Classify a file by its first bytes: 'npz', 'npy', 'pickle' or 'other'."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: file not found; check the path")
    if path.is_dir():
        raise ModelError(f"{path}: is a directory, expected a model or data file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror})") from None
    if head[:4] in _ZIP_MAGICS:
        return "npz"
    if head[:6] == _NPY_MAGIC:
        return "npy"
    if head[:1] and head[0] == _PICKLE_PROTOCOL_BYTE:
        return "pickle"
    return "other"


def reject_non_npz(path: Path, kind: str) -> None:
    if kind == "pickle":
        raise ModelError(
            f"{path}: holds pickled Python data, which layoutgen never loads; save plain arrays with numpy.savez"
        )
    if kind == "npy":
        raise ModelError(f"{path}: is a single .npy array; save the named arrays together with numpy.savez (.npz)")
    if kind != "npz":
        raise ModelError(f"{path}: is not an .npz archive")


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All arrays of an .npz archive, loaded without pickle support."""
    path = Path(path)
    reject_non_npz(path, sniff(path))
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            for key in archive.files:
                try:
                    arrays[key] = archive[key]
                except ValueError as exc:
                    if "pickle" in str(exc).lower() or "object" in str(exc).lower():
                        raise ModelError(
                            f"{path}: array '{key}' holds pickled Python objects (object dtype); "
                            "store plain numeric arrays"
                        ) from None
                    raise ModelError(f"{path}: array '{key}' is unreadable ({exc})") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ModelError(f"{path}: damaged .npz archive ({exc})") from None
    return arrays


def _npy_bytes(array: np.ndarray) -> bytes:
    array = np.asarray(array)
    if not array.flags.c_contiguous:
        array = array.copy(order="C")  # (np.ascontiguousarray would turn 0-d scalars into 1-d)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    buf = io.BytesIO()
    _write_npy(buf, array, version=(1, 0), allow_pickle=False)
    return buf.getvalue()


_write_npy = np.lib.format.write_array


def write_npz_atomic(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays (in the given key order) as an .npz; byte-identical for identical arrays."""
    path = Path(path)
    if path.is_dir():
        raise LayoutgenError(f"{path}: is a directory; give a file name for the output")
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for key, array in arrays.items():
                info = zipfile.ZipInfo(f"{key}.npy", date_time=_FIXED_ZIP_TIME)
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                info.create_system = 3
                zf.writestr(info, _npy_bytes(array))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LayoutgenError(f"{path}: cannot write ({exc.strerror or exc}); check the folder exists and is writable") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
