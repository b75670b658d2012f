"""safetensors_np.py: read and write the safetensors format with numpy only (no `safetensors` package).

Format (https://huggingface.co/docs/safetensors, "Format" section):
    8 bytes      N, little-endian uint64: length of the header
    N bytes      JSON header: {"__metadata__": {str: str}, NAME: {"dtype": "F32", "shape": [..],
                 "data_offsets": [begin, end]}, ...}; offsets are relative to the byte after the
                 header; the header may be padded with trailing spaces (we pad it to a multiple of 8
                 so that every tensor starts 8-byte aligned, as the reference writer does)
    rest         the raw little-endian tensor data, row-major (C order), tensors back to back

BF16 has no numpy dtype: read_safetensors returns BF16 tensors as float32 (exact) unless raw=True,
and write_safetensors writes a float32 array as BF16 when asked through dtypes={name: "BF16"}.
"""
import json
import struct

import numpy as np

_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"), "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}


def _dtype_name(a):
    dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
    for k, v in _DTYPES.items():
        if v == dt:
            return k
    raise ValueError("safetensors: unsupported dtype %s" % a.dtype)


def _bf16_bytes(a):
    """float32 -> bf16 (round to nearest even) bytes."""
    u = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")
    return r.tobytes()


def write_safetensors(path, tensors, metadata=None, dtypes=None):
    """tensors: {name: numpy array}; metadata: {str: str}; dtypes: optional {name: "BF16"} to store a
    float array as bfloat16. Tensors are written in sorted name order (as the reference writer)."""
    dtypes = dtypes or {}
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    off = 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        if dtypes.get(name) == "BF16":
            b, dn = _bf16_bytes(a), "BF16"
        else:
            dn = _dtype_name(a)
            b = np.ascontiguousarray(a, dtype=_DTYPES[dn]).tobytes()
        header[name] = {"dtype": dn, "shape": [int(d) for d in a.shape], "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def read_safetensors_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        if n > 100 * 1024 * 1024:
            raise ValueError("%s: implausible safetensors header length %d" % (path, n))
        header = json.loads(f.read(n).decode("utf-8"))
    return header, 8 + n


def read_safetensors(path, raw=False):
    """Returns ({name: numpy array}, metadata dict). BF16 tensors come back as float32 unless raw
    (then as uint16 bit patterns)."""
    header, base = read_safetensors_header(path)
    meta = header.pop("__metadata__", {}) or {}
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        chunk = np.asarray(buf[base + b:base + e])
        dn = info["dtype"]
        if dn == "BF16":
            u = chunk.view("<u2").reshape(shape)
            out[name] = u.copy() if raw else (u.astype(np.uint32) << 16).view(np.float32).reshape(shape)
        elif dn in _DTYPES:
            out[name] = chunk.view(_DTYPES[dn]).reshape(shape).copy()
        else:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, dn))
    return out, meta
