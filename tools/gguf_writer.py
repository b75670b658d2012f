"""gguf_writer.py: a small numpy-only GGUF v3 writer, reader and quantizer library.

Used by the converter, the benchmark-model generator and the tests. No dependencies beyond numpy.

Conventions
-----------
* Float arrays are given in PyTorch orientation, shape (out, in) (row-major, the last axis is the
  fastest). The GGUF/ggml shape is the reverse: ne = [in, out] (ne[0] fastest).
* Quantizers reproduce llama.cpp's reference quantizers byte for byte (ggml-quants.c):
  Q8_0 = quantize_row_q8_0_ref, TQ2_0 = quantize_row_tq2_0_ref, TQ1_0 = quantize_row_tq1_0_ref;
  F16 is IEEE round-to-nearest-even (as F16C), BF16 is ggml_compute_fp32_to_bf16 (RNE, quiet NaN).
  I2_S is bitnet.cpp's x86 128-block layout (shared/oracle/bitnet-b1.58-i2s.md) with the 28 unused
  trailer bytes zero-filled. Q6_K is a *valid* Q6_K (same scale/packing steps as
  quantize_row_q6_K_ref) but uses make_qx_quants' plain rmse_type=0 rounding instead of the iterative
  search, so it is not byte-identical to llama-quantize.

Example
-------
    import numpy as np, gguf_writer as gw
    w = gw.GGUFWriter()                                   # alignment 32, version 3
    w.add_string("general.architecture", "bitnet")
    w.add_uint32("bitnet.block_count", 2)
    w.add_array("tokenizer.ggml.tokens", ["<s>", "a"], gw.GGUF_TYPE_STRING)
    w.add_tensor("blk.0.attn_q.weight", np.zeros((256, 256), np.float32), gw.GGML_TYPE_TQ2_0)
    w.write("model.gguf")
    f = gw.read_gguf("model.gguf")                        # f.kv["bitnet.block_count"].value == 2
"""

import struct
from collections import namedtuple

import numpy as np

__all__ = [
    "GGUFWriter", "GGUFFile", "GGUFError", "KV", "TensorInfo", "read_gguf", "writer_from_file",
    "quantize", "dequantize", "tensor_nbytes", "type_name",
    "quantize_f32", "quantize_f16", "quantize_bf16", "quantize_q8_0", "quantize_q6_k",
    "quantize_tq1_0", "quantize_tq2_0", "quantize_i2_s",
]

GGUF_MAGIC = b"GGUF"
GGUF_DEFAULT_ALIGNMENT = 32

# ---- GGUF KV value types (spec numbering) ----
GGUF_TYPE_UINT8, GGUF_TYPE_INT8, GGUF_TYPE_UINT16, GGUF_TYPE_INT16 = 0, 1, 2, 3
GGUF_TYPE_UINT32, GGUF_TYPE_INT32, GGUF_TYPE_FLOAT32, GGUF_TYPE_BOOL = 4, 5, 6, 7
GGUF_TYPE_STRING, GGUF_TYPE_ARRAY, GGUF_TYPE_UINT64, GGUF_TYPE_INT64 = 8, 9, 10, 11
GGUF_TYPE_FLOAT64 = 12

# scalar type -> numpy little-endian dtype
_GGUF_NP = {
    GGUF_TYPE_UINT8: np.dtype("<u1"), GGUF_TYPE_INT8: np.dtype("<i1"),
    GGUF_TYPE_UINT16: np.dtype("<u2"), GGUF_TYPE_INT16: np.dtype("<i2"),
    GGUF_TYPE_UINT32: np.dtype("<u4"), GGUF_TYPE_INT32: np.dtype("<i4"),
    GGUF_TYPE_FLOAT32: np.dtype("<f4"), GGUF_TYPE_BOOL: np.dtype("<u1"),
    GGUF_TYPE_UINT64: np.dtype("<u8"), GGUF_TYPE_INT64: np.dtype("<i8"),
    GGUF_TYPE_FLOAT64: np.dtype("<f8"),
}
GGUF_TYPE_NAMES = {
    0: "UINT8", 1: "INT8", 2: "UINT16", 3: "INT16", 4: "UINT32", 5: "INT32", 6: "FLOAT32",
    7: "BOOL", 8: "STRING", 9: "ARRAY", 10: "UINT64", 11: "INT64", 12: "FLOAT64",
}

# ---- ggml tensor types ----
GGML_TYPE_F32, GGML_TYPE_F16 = 0, 1
GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1 = 2, 3, 6, 7
GGML_TYPE_Q8_0, GGML_TYPE_Q8_1 = 8, 9
GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K = 10, 11, 12, 13
GGML_TYPE_Q6_K, GGML_TYPE_Q8_K = 14, 15
GGML_TYPE_I8, GGML_TYPE_I16, GGML_TYPE_I32, GGML_TYPE_I64, GGML_TYPE_F64 = 24, 25, 26, 27, 28
GGML_TYPE_BF16 = 30
GGML_TYPE_TQ1_0, GGML_TYPE_TQ2_0 = 34, 35
GGML_TYPE_I2_S = 36          # bitnet.cpp only (upstream ggml has no type 36)

# type -> (name, block size in elements, bytes per block). I2_S is special (n/4 + 32 bytes).
GGML_TYPES = {
    GGML_TYPE_F32: ("F32", 1, 4), GGML_TYPE_F16: ("F16", 1, 2),
    GGML_TYPE_Q4_0: ("Q4_0", 32, 18), GGML_TYPE_Q4_1: ("Q4_1", 32, 20),
    GGML_TYPE_Q5_0: ("Q5_0", 32, 22), GGML_TYPE_Q5_1: ("Q5_1", 32, 24),
    GGML_TYPE_Q8_0: ("Q8_0", 32, 34), GGML_TYPE_Q8_1: ("Q8_1", 32, 36),
    GGML_TYPE_Q2_K: ("Q2_K", 256, 84), GGML_TYPE_Q3_K: ("Q3_K", 256, 110),
    GGML_TYPE_Q4_K: ("Q4_K", 256, 144), GGML_TYPE_Q5_K: ("Q5_K", 256, 176),
    GGML_TYPE_Q6_K: ("Q6_K", 256, 210), GGML_TYPE_Q8_K: ("Q8_K", 256, 292),
    GGML_TYPE_I8: ("I8", 1, 1), GGML_TYPE_I16: ("I16", 1, 2), GGML_TYPE_I32: ("I32", 1, 4),
    GGML_TYPE_I64: ("I64", 1, 8), GGML_TYPE_F64: ("F64", 1, 8), GGML_TYPE_BF16: ("BF16", 1, 2),
    GGML_TYPE_TQ1_0: ("TQ1_0", 256, 54), GGML_TYPE_TQ2_0: ("TQ2_0", 256, 66),
    GGML_TYPE_I2_S: ("I2_S", 128, 32),
}
I2S_BLOCK = 128
I2S_TRAILER = 32

QK_K = 256
GROUP_MAX_EPS = np.float32(1e-15)


class GGUFError(ValueError):
    """Malformed GGUF input, or arguments the writer cannot encode."""


def type_name(ggml_type):
    return GGML_TYPES[ggml_type][0] if ggml_type in GGML_TYPES else "type%d" % ggml_type


def _nelements(ne):
    n = 1
    for d in ne:
        n *= int(d)
    return n


def tensor_nbytes(ne, ggml_type):
    """Bytes of a tensor of ggml shape ne (ne[0] fastest). I2_S: n/4 + 32 (packed codes + trailer)."""
    if ggml_type not in GGML_TYPES:
        raise GGUFError("unknown ggml type %d" % ggml_type)
    _, blk, bsz = GGML_TYPES[ggml_type]
    n = _nelements(ne)
    if ggml_type == GGML_TYPE_I2_S:
        if n % 4:
            raise GGUFError("I2_S: element count %d not a multiple of 4" % n)
        return n // 4 + I2S_TRAILER
    if not ne or int(ne[0]) % blk:
        raise GGUFError("%s: ne[0]=%s not a multiple of the block size %d"
                        % (type_name(ggml_type), ne[0] if ne else None, blk))
    return n // blk * bsz


def _pad(n, align):
    return (n + align - 1) // align * align


# ======================================================================================
# fp16 / bf16 helpers
# ======================================================================================

def _f16_bytes(x):
    """float32 array -> little-endian fp16 as uint8 view (IEEE RNE, like F16C / GGML_FP32_TO_FP16)."""
    with np.errstate(over="ignore"):                        # overflow -> inf, as the hardware does
        return np.ascontiguousarray(np.asarray(x, np.float32).astype("<f2")).view(np.uint8)


def _bf16_u16(x):
    """ggml_compute_fp32_to_bf16: round to nearest even; NaN -> quiet NaN with the top bits kept."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = ((u.astype(np.uint64) + (0x7FFF + ((u >> 16) & 1))) >> 16).astype(np.uint16)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    if nan.any():
        rounded = np.where(nan, ((u >> 16) | 64).astype(np.uint16), rounded)
    return rounded


def _round_half_away(v):
    """C roundf/lroundf (half away from zero), exact in float32 (no v+0.5 rounding trap)."""
    a = np.abs(v)
    fl = np.floor(a)
    r = fl + (a - fl >= np.float32(0.5))      # a - floor(a) is exact in binary floating point
    return np.copysign(r, v)


def _as_blocks(x, blk, name):
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim == 0:
        x = x.reshape(1)
    if x.shape[-1] % blk:
        raise GGUFError("%s needs the row length (last axis, ggml ne[0]) to be a multiple of %d, "
                        "got shape %s" % (name, blk, x.shape))
    return x.reshape(-1, blk)


# ======================================================================================
# Quantizers: float32 array (PyTorch orientation) -> flat uint8 array of the tensor's bytes
# ======================================================================================

def quantize_f32(x):
    return np.ascontiguousarray(x, dtype="<f4").reshape(-1).view(np.uint8)


def quantize_f16(x):
    return _f16_bytes(np.asarray(x, np.float32).reshape(-1))


def quantize_bf16(x):
    return _bf16_u16(np.asarray(x, np.float32).reshape(-1)).astype("<u2").view(np.uint8)


def quantize_q8_0(x):
    """llama.cpp quantize_row_q8_0_ref: blocks of 32, {d: fp16 = amax/127, qs: int8[32] = roundf(x/d)}."""
    xb = _as_blocks(x, 32, "Q8_0")
    amax = np.abs(xb).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    q = _round_half_away(xb * idv[:, None]).astype(np.int8)
    out = np.empty((xb.shape[0], 34), np.uint8)
    out[:, 0:2] = _f16_bytes(d).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.reshape(-1)


def _ternary_codes(x, name):
    """Per-256-block absmax codes 0/1/2 (= lroundf(x*id)+1) and the fp16 d bytes, as llama.cpp TQ*_0."""
    xb = _as_blocks(x, QK_K, name)
    amax = np.abs(xb).max(axis=1)
    with np.errstate(divide="ignore"):
        idv = np.where(amax != 0, np.float32(1) / amax, np.float32(0)).astype(np.float32)
    v = xb * idv[:, None]                                   # float32, |v| <= 1 (+1 ulp)
    codes = np.ones(v.shape, np.uint8)                      # lroundf(v) for |v| <= 1: +-1 iff |v| >= .5
    codes[v >= np.float32(0.5)] = 2
    codes[v <= np.float32(-0.5)] = 0
    return codes, _f16_bytes(amax).reshape(-1, 2)


def quantize_tq2_0(x):
    """llama.cpp quantize_row_tq2_0_ref. Block (66 B): qs[64], d fp16.
    qs[32h+m] = sum_{n<4} code[128h+32n+m] << 2n."""
    codes, d = _ternary_codes(x, "TQ2_0")
    nb = codes.shape[0]
    c = codes.reshape(nb, 2, 4, 32).astype(np.uint8)       # [block, h, n, m]
    qs = c[:, :, 0] | (c[:, :, 1] << 2) | (c[:, :, 2] << 4) | (c[:, :, 3] << 6)
    out = np.empty((nb, 66), np.uint8)
    out[:, :64] = qs.reshape(nb, 64)
    out[:, 64:] = d
    return out.reshape(-1)


def _pack_base3(c):
    """c: [..., k, m] trits (first one most significant) -> ceil(v*256/243) as uint8 over [..., m]."""
    v = np.zeros(c.shape[:-2] + c.shape[-1:], np.uint16)
    for i in range(c.shape[-2]):
        v = v * 3 + c[..., i, :]
    return ((v * 256 + 242) // 243).astype(np.uint8)


def quantize_tq1_0(x):
    """llama.cpp quantize_row_tq1_0_ref. Block (54 B): qs[48], qh[4], d fp16.
    qs[m] (m<32): trits m+32n (n<5); qs[32+m] (m<16): 160+m+16n; qh[j]: 240+j+4n (n<4) then x3."""
    codes, d = _ternary_codes(x, "TQ1_0")
    nb = codes.shape[0]
    c = codes.astype(np.uint16)
    qs0 = _pack_base3(c[:, :160].reshape(nb, 5, 32))
    qs1 = _pack_base3(c[:, 160:240].reshape(nb, 5, 16))
    t = c[:, 240:256].reshape(nb, 4, 4)                     # [block, n, j]
    v = ((t[:, 0] * 27 + t[:, 1] * 9 + t[:, 2] * 3 + t[:, 3]) * 3).astype(np.uint16)
    qh = ((v * 256 + 242) // 243).astype(np.uint8)
    out = np.empty((nb, 54), np.uint8)
    out[:, 0:32] = qs0
    out[:, 32:48] = qs1
    out[:, 48:52] = qh
    out[:, 52:54] = d
    return out.reshape(-1)


def quantize_i2_s(x):
    """bitnet.cpp I2_S (x86 128-block layout): tensor flattened row-major; scale = max|w| (double ->
    float32); code 1 if |w| < 1e-6, else 2 if w*scale > 0 else 0; weight 128i+j goes to byte 32i+j%32 at
    shift 6-2*(j//32). Then 32 trailer bytes: float32 scale, 28 zero bytes. Size n/4 + 32."""
    x = np.asarray(x, np.float32)
    if x.ndim == 0 or x.shape[-1] % I2S_BLOCK:
        raise GGUFError("I2_S needs the row length (ggml ne[0]) to be a multiple of 128, got shape %s"
                        % (x.shape,))
    flat = x.reshape(-1)
    scale = np.float32(np.abs(flat).astype(np.float64).max()) if flat.size else np.float32(0)
    codes = np.where(flat.astype(np.float64) * np.float64(scale) > 0, 2, 0).astype(np.uint8)
    codes[np.abs(flat) < 1e-6] = 1                        # fabs((double)w) < 1e-6
    c = codes.reshape(-1, 4, 32)                            # [block, j//32, j%32]
    packed = (c[:, 0] << 6) | (c[:, 1] << 4) | (c[:, 2] << 2) | c[:, 3]
    out = np.zeros(flat.size // 4 + I2S_TRAILER, np.uint8)
    out[:flat.size // 4] = packed.reshape(-1)
    out[flat.size // 4:flat.size // 4 + 4] = np.array([scale], "<f4").view(np.uint8)
    return out


def quantize_q6_k(x):
    """A valid Q6_K (block 210 B: ql[128], qh[64], scales int8[16], d fp16), following
    quantize_row_q6_K_ref except that sub-block scales come from make_qx_quants(rmse_type=0)
    (no iterative refinement): NOT byte-identical to llama-quantize, but decodes with ggml's
    dequantize_row_q6_K."""
    xb = _as_blocks(x, QK_K, "Q6_K")
    nb = xb.shape[0]
    xs = xb.reshape(nb, 16, 16)
    ax = np.abs(xs)
    imax = ax.argmax(axis=2)                                # first index of the largest |x|
    smax = np.take_along_axis(xs, imax[..., None], axis=2)[..., 0]
    samax = np.take_along_axis(ax, imax[..., None], axis=2)[..., 0]
    tiny = samax < GROUP_MAX_EPS
    with np.errstate(divide="ignore", invalid="ignore"):
        isc_sub = np.where(tiny, np.float32(0), np.float32(-32) / smax).astype(np.float32)
        scales = np.where(tiny, np.float32(0), np.float32(1) / isc_sub).astype(np.float32)
        l0 = np.clip(np.rint(isc_sub[..., None] * xs), -32, 31) + 32
    L = np.where(tiny[..., None], 0, l0).astype(np.int32)
    absc = np.abs(scales)
    ib = absc.argmax(axis=1)
    max_abs_scale = absc[np.arange(nb), ib]
    max_scale = scales[np.arange(nb), ib]
    zero_blk = max_abs_scale < GROUP_MAX_EPS
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = np.where(zero_blk, np.float32(0), np.float32(-128) / max_scale).astype(np.float32)
        dval = np.where(zero_blk, np.float32(0), np.float32(1) / iscale).astype(np.float32)
    d16 = dval.astype(np.float16)
    sc = np.minimum(127, np.rint(iscale[:, None] * scales)).astype(np.int8)
    sc[zero_blk] = 0
    dsub = (d16.astype(np.float32)[:, None] * sc.astype(np.float32)).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        l1 = np.clip(np.rint(xs / dsub[..., None]), -32, 31) + 32
    L = np.where((dsub != 0)[..., None], l1, L).astype(np.uint8).reshape(nb, 2, 4, 32)
    L[zero_blk] = 0
    lo = L & 0xF                                            # [block, half, quarter, l]
    hi = L >> 4
    ql = np.empty((nb, 2, 64), np.uint8)
    ql[:, :, :32] = lo[:, :, 0] | (lo[:, :, 2] << 4)
    ql[:, :, 32:] = lo[:, :, 1] | (lo[:, :, 3] << 4)
    qh = hi[:, :, 0] | (hi[:, :, 1] << 2) | (hi[:, :, 2] << 4) | (hi[:, :, 3] << 6)
    out = np.zeros((nb, 210), np.uint8)
    out[:, 0:128] = ql.reshape(nb, 128)
    out[:, 128:192] = qh.reshape(nb, 64)
    out[:, 192:208] = sc.view(np.uint8)
    out[:, 208:210] = d16.astype("<f2").view(np.uint8).reshape(nb, 2)
    return out.reshape(-1)


_QUANTIZERS = {
    GGML_TYPE_F32: quantize_f32, GGML_TYPE_F16: quantize_f16, GGML_TYPE_BF16: quantize_bf16,
    GGML_TYPE_Q8_0: quantize_q8_0, GGML_TYPE_Q6_K: quantize_q6_k,
    GGML_TYPE_TQ1_0: quantize_tq1_0, GGML_TYPE_TQ2_0: quantize_tq2_0, GGML_TYPE_I2_S: quantize_i2_s,
}


def quantize(x, ggml_type):
    """float array, PyTorch orientation -> (uint8 array of the tensor bytes, ggml ne list)."""
    if ggml_type not in _QUANTIZERS:
        raise GGUFError("no quantizer for ggml type %s" % type_name(ggml_type))
    x = np.asarray(x, np.float32)
    ne = [int(d) for d in reversed(x.shape)] or [1]
    return _QUANTIZERS[ggml_type](x), ne


# ======================================================================================
# Dequantizers (for tests and tools): bytes -> float32 array in PyTorch orientation
# ======================================================================================

def dequantize(data, ne, ggml_type):
    """Decode tensor bytes of ggml shape ne to float32 with numpy shape reversed(ne)."""
    buf = np.frombuffer(bytes(data) if not isinstance(data, np.ndarray) else data.tobytes(), np.uint8)
    n = _nelements(ne)
    shape = tuple(int(d) for d in reversed(ne))
    need = tensor_nbytes(ne, ggml_type)
    if buf.size < need:
        raise GGUFError("dequantize: %d bytes given, %d needed" % (buf.size, need))
    buf = buf[:need]
    t = ggml_type
    if t == GGML_TYPE_F32:
        y = buf.view("<f4").astype(np.float32)
    elif t == GGML_TYPE_F16:
        y = buf.view("<f2").astype(np.float32)
    elif t == GGML_TYPE_BF16:
        y = (buf.view("<u2").astype(np.uint32) << 16).view(np.float32)
    elif t == GGML_TYPE_Q8_0:
        b = buf.reshape(-1, 34)
        d = b[:, :2].copy().view("<f2").astype(np.float32)
        y = (b[:, 2:].view(np.int8).astype(np.float32) * d).reshape(-1)
    elif t == GGML_TYPE_TQ2_0:
        b = buf.reshape(-1, 66)
        d = b[:, 64:66].copy().view("<f2").astype(np.float32)
        qs = b[:, :64].reshape(-1, 2, 1, 32)
        sh = np.array([0, 2, 4, 6], np.uint8).reshape(1, 1, 4, 1)
        q = ((qs >> sh) & 3).astype(np.float32) - 1          # [block, h, n, m]
        y = (q.reshape(-1, 256) * d).reshape(-1)
    elif t == GGML_TYPE_TQ1_0:
        b = buf.reshape(-1, 54)
        d = b[:, 52:54].copy().view("<f2").astype(np.float32)
        pow3 = np.array([1, 3, 9, 27, 81], np.uint16)

        def trits(bytes_, k):                              # [block, m] -> [block, k, m]
            q = (bytes_[:, None, :].astype(np.uint16) * pow3[:k, None]) & 255
            return ((q * 3) >> 8).astype(np.float32) - 1
        parts = [trits(b[:, 0:32], 5).reshape(-1, 160), trits(b[:, 32:48], 5).reshape(-1, 80),
                 trits(b[:, 48:52], 4).reshape(-1, 16)]
        y = (np.concatenate(parts, axis=1) * d).reshape(-1)
    elif t == GGML_TYPE_I2_S:
        packed = buf[:n // 4].reshape(-1, 32)
        scale = buf[n // 4:n // 4 + 4].copy().view("<f4")[0]
        sh = np.array([6, 4, 2, 0], np.uint8).reshape(1, 4, 1)
        c = (packed[:, None, :] >> sh) & 3                   # [block, j//32, j%32]
        lut = np.array([-1, 0, 1, 0], np.float32)
        y = (lut[c.reshape(-1)] * scale).astype(np.float32)
    elif t == GGML_TYPE_Q6_K:
        b = buf.reshape(-1, 210)
        nb = b.shape[0]
        ql = b[:, 0:128].reshape(nb, 2, 64)
        qh = b[:, 128:192].reshape(nb, 2, 32)
        sc = b[:, 192:208].view(np.int8).astype(np.float32).reshape(nb, 2, 8)
        d = b[:, 208:210].copy().view("<f2").astype(np.float32).reshape(nb, 1, 1)
        q = np.empty((nb, 2, 4, 32), np.int32)
        q[:, :, 0] = (ql[:, :, :32] & 0xF) | (((qh >> 0) & 3) << 4)
        q[:, :, 1] = (ql[:, :, 32:] & 0xF) | (((qh >> 2) & 3) << 4)
        q[:, :, 2] = (ql[:, :, :32] >> 4) | (((qh >> 4) & 3) << 4)
        q[:, :, 3] = (ql[:, :, 32:] >> 4) | (((qh >> 6) & 3) << 4)
        q = (q - 32).astype(np.float32)
        # y[l + 32k] uses sc[l//16 + 2k]
        s = sc.reshape(nb, 2, 4, 2)                          # [block, half, k, l//16]
        s = np.repeat(s, 16, axis=3)                          # [block, half, k, 32]
        y = ((d.reshape(nb, 1, 1, 1) * s) * q).reshape(-1).astype(np.float32)
    else:
        raise GGUFError("no dequantizer for ggml type %s" % type_name(t))
    return y.astype(np.float32).reshape(shape)


# ======================================================================================
# Writer
# ======================================================================================

def _enc_str(s):
    if isinstance(s, str):
        b = s.encode("utf-8", "surrogateescape")
    elif isinstance(s, (bytes, bytearray, memoryview)):
        b = bytes(s)
    else:
        raise GGUFError("string value expected, got %r" % type(s))
    return struct.pack("<Q", len(b)) + b


def _infer_type(v):
    if isinstance(v, (bool, np.bool_)):
        return GGUF_TYPE_BOOL
    if isinstance(v, (int, np.integer)):
        return GGUF_TYPE_INT32 if -2**31 <= int(v) < 2**31 else GGUF_TYPE_INT64
    if isinstance(v, (float, np.floating)):
        return GGUF_TYPE_FLOAT32
    if isinstance(v, (str, bytes)):
        return GGUF_TYPE_STRING
    if isinstance(v, (list, tuple, np.ndarray)):
        return GGUF_TYPE_ARRAY
    raise GGUFError("cannot infer a GGUF type for %r" % (v,))


def _enc_scalar(vtype, v):
    if vtype == GGUF_TYPE_STRING:
        return _enc_str(v)
    if vtype == GGUF_TYPE_BOOL:
        return b"\x01" if v else b"\x00"
    if vtype not in _GGUF_NP:
        raise GGUFError("bad scalar GGUF type %r" % (vtype,))
    dt = _GGUF_NP[vtype]
    if dt.kind in "iu":
        info = np.iinfo(dt)
        if not info.min <= int(v) <= info.max:
            raise GGUFError("value %r out of range for %s" % (v, GGUF_TYPE_NAMES[vtype]))
        return np.array(int(v), dt).tobytes()
    return np.array(v, dt).tobytes()


def _enc_array(elem_type, values):
    if elem_type == GGUF_TYPE_ARRAY:
        raise GGUFError("nested arrays are not supported")
    n = len(values)
    head = struct.pack("<IQ", elem_type, n)
    if elem_type == GGUF_TYPE_STRING:
        return head + b"".join(_enc_str(s) for s in values)
    if elem_type == GGUF_TYPE_BOOL:
        return head + np.asarray(values, bool).astype(np.uint8).tobytes()
    if elem_type not in _GGUF_NP:
        raise GGUFError("bad array element type %r" % (elem_type,))
    dt = _GGUF_NP[elem_type]
    a = np.asarray(values)
    if dt.kind in "iu" and a.size:
        info = np.iinfo(dt)
        ai = a.astype(np.int64) if a.dtype.kind != "u" else a.astype(np.uint64)
        if int(ai.min()) < info.min or int(ai.max()) > info.max:
            raise GGUFError("array values out of range for %s" % GGUF_TYPE_NAMES[elem_type])
    return head + a.astype(dt).tobytes()


class GGUFWriter:
    """Collects KVs and tensors, then serialises a GGUF file.

    KVs keep insertion order; re-adding a key replaces its value in place. Tensors are laid out in
    insertion order, each at an offset aligned to `alignment` and zero-padded to it (as llama.cpp's
    gguf writer does, including after the last tensor). If alignment != 32, a general.alignment
    (UINT32) KV is added automatically unless present."""

    def __init__(self, alignment=GGUF_DEFAULT_ALIGNMENT, version=3):
        if alignment <= 0 or alignment & (alignment - 1):
            raise GGUFError("alignment must be a power of two, got %r" % (alignment,))
        if version not in (2, 3):
            raise GGUFError("only GGUF versions 2 and 3 are written")
        self.alignment = int(alignment)
        self.version = int(version)
        self._kv = {}            # key -> (vtype, value, elem_type)
        self._tensors = []       # (name, ne, ggml_type, bytes)
        self._tensor_names = set()

    # ---- KVs ----
    def add_kv(self, key, value, vtype=None, elem_type=None):
        """Generic: vtype from GGUF_TYPE_*, inferred if None (bool, int->INT32/INT64, float->FLOAT32,
        str/bytes->STRING, list->ARRAY). Arrays need elem_type unless inferable from the first element.
        Strings may be bytes (written as is, e.g. invalid UTF-8 for tests)."""
        if vtype is None:
            vtype = _infer_type(value)
        if vtype == GGUF_TYPE_ARRAY:
            if elem_type is None:
                if len(value) == 0:
                    raise GGUFError("%s: empty array needs elem_type" % key)
                elem_type = _infer_type(value[0])
            _enc_array(elem_type, value)         # validate now, not at write time
        else:
            _enc_scalar(vtype, value)
        self._kv[key] = (vtype, value, elem_type)

    def add_uint8(self, key, v): self.add_kv(key, v, GGUF_TYPE_UINT8)
    def add_int8(self, key, v): self.add_kv(key, v, GGUF_TYPE_INT8)
    def add_uint16(self, key, v): self.add_kv(key, v, GGUF_TYPE_UINT16)
    def add_int16(self, key, v): self.add_kv(key, v, GGUF_TYPE_INT16)
    def add_uint32(self, key, v): self.add_kv(key, v, GGUF_TYPE_UINT32)
    def add_int32(self, key, v): self.add_kv(key, v, GGUF_TYPE_INT32)
    def add_uint64(self, key, v): self.add_kv(key, v, GGUF_TYPE_UINT64)
    def add_int64(self, key, v): self.add_kv(key, v, GGUF_TYPE_INT64)
    def add_float32(self, key, v): self.add_kv(key, v, GGUF_TYPE_FLOAT32)
    def add_float64(self, key, v): self.add_kv(key, v, GGUF_TYPE_FLOAT64)
    def add_bool(self, key, v): self.add_kv(key, bool(v), GGUF_TYPE_BOOL)
    def add_string(self, key, v): self.add_kv(key, v, GGUF_TYPE_STRING)

    def add_array(self, key, values, elem_type):
        self.add_kv(key, list(values) if not isinstance(values, np.ndarray) else values,
                    GGUF_TYPE_ARRAY, elem_type)

    # ---- tensors ----
    def add_tensor(self, name, array, ggml_type=GGML_TYPE_F32):
        """Quantize a float array (PyTorch orientation, shape (out, in)) to ggml_type and add it with
        ne = reversed(shape). Returns the ne list."""
        data, ne = quantize(array, ggml_type)
        self.add_tensor_raw(name, data, ne, ggml_type)
        return ne

    def add_tensor_raw(self, name, data, ne, ggml_type, check=True):
        """Add already-encoded tensor bytes with ggml shape ne (ne[0] fastest). With check=True the
        byte count must equal tensor_nbytes(ne, ggml_type) and 1 <= len(ne) <= 4."""
        if name in self._tensor_names:
            raise GGUFError("duplicate tensor name %r" % name)
        ne = [int(d) for d in ne]
        b = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
        if check:
            if not 1 <= len(ne) <= 4:
                raise GGUFError("%s: n_dims must be 1..4, got %d" % (name, len(ne)))
            want = tensor_nbytes(ne, ggml_type)
            if len(b) != want:
                raise GGUFError("%s: %d bytes given, %s %s needs %d"
                                % (name, len(b), type_name(ggml_type), ne, want))
        self._tensors.append((name, ne, int(ggml_type), b))
        self._tensor_names.add(name)

    # ---- output ----
    def _kv_items(self):
        items = list(self._kv.items())
        if self.alignment != GGUF_DEFAULT_ALIGNMENT and "general.alignment" not in self._kv:
            items.append(("general.alignment", (GGUF_TYPE_UINT32, self.alignment, None)))
        return items

    def to_bytes(self):
        out = bytearray()
        items = self._kv_items()
        out += GGUF_MAGIC + struct.pack("<IQQ", self.version, len(self._tensors), len(items))
        for key, (vtype, value, elem_type) in items:
            out += _enc_str(key) + struct.pack("<I", vtype)
            if vtype == GGUF_TYPE_ARRAY:
                out += _enc_array(elem_type, value)
            else:
                out += _enc_scalar(vtype, value)
        offset = 0
        offsets = []
        for name, ne, t, b in self._tensors:
            out += _enc_str(name) + struct.pack("<I", len(ne))
            out += struct.pack("<%dQ" % len(ne), *[d & 0xFFFFFFFFFFFFFFFF for d in ne])
            out += struct.pack("<IQ", t, offset)
            offsets.append(offset)
            offset += _pad(len(b), self.alignment)
        out += b"\x00" * (_pad(len(out), self.alignment) - len(out))
        for (name, ne, t, b), off in zip(self._tensors, offsets):
            out += b
            out += b"\x00" * (_pad(len(b), self.alignment) - len(b))
        return bytes(out)

    def write(self, path):
        data = self.to_bytes()
        with open(path, "wb") as f:
            f.write(data)
        return len(data)


# ======================================================================================
# Reader
# ======================================================================================

KV = namedtuple("KV", "key type value elem_type")
"""One KV pair: type is GGUF_TYPE_*, elem_type the element type for arrays (else None). Strings are
str (decoded UTF-8 with surrogateescape, so invalid bytes round-trip); numeric arrays are numpy
arrays; string arrays are lists of str."""

TensorInfo = namedtuple("TensorInfo", "name ne type offset nbytes data")
"""name, ne (list, ggml order), ggml type, offset (relative to the data section), nbytes (computed),
data (memoryview of the file's bytes for this tensor)."""


class GGUFFile:
    def __init__(self, version, kv, tensors, alignment, data_offset, buf):
        self.version = version
        self.kv = kv                      # dict key -> KV, in file order
        self.tensors = tensors            # list of TensorInfo, in file order
        self.alignment = alignment
        self.data_offset = data_offset
        self.buf = buf

    def tensor(self, name):
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)

    def value(self, key, default=None):
        kv = self.kv.get(key)
        return default if kv is None else kv.value

    def tensor_array(self, name):
        """Dequantized float32 numpy array in PyTorch orientation."""
        t = self.tensor(name)
        return dequantize(t.data, t.ne, t.type)


class _Cursor:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.buf):
            raise GGUFError("truncated at byte %d reading %s (%d bytes needed, %d left)"
                            % (self.pos, what, n, len(self.buf) - self.pos))
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt, what):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))

    def string(self, what):
        (n,) = self.unpack("<Q", what + " length")
        return bytes(self.take(n, what)).decode("utf-8", "surrogateescape")


def _read_value(cur, vtype, what):
    if vtype == GGUF_TYPE_STRING:
        return cur.string(what)
    if vtype == GGUF_TYPE_BOOL:
        (b,) = cur.unpack("<B", what)
        if b > 1:
            raise GGUFError("%s: bool value %d" % (what, b))
        return bool(b)
    if vtype in _GGUF_NP:
        dt = _GGUF_NP[vtype]
        v = np.frombuffer(cur.take(dt.itemsize, what), dt)[0]
        return float(v) if dt.kind == "f" else int(v)
    raise GGUFError("%s: unknown value type %d" % (what, vtype))


def read_gguf(src):
    """Parse a GGUF v2/v3 file (path, bytes, bytearray or memoryview). Raises GGUFError if malformed."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        buf = memoryview(src).cast("B") if not isinstance(src, bytes) else memoryview(src)
    else:
        with open(src, "rb") as f:
            buf = memoryview(f.read())
    cur = _Cursor(buf)
    if bytes(cur.take(4, "magic")) != GGUF_MAGIC:
        raise GGUFError("bad magic")
    (version,) = cur.unpack("<I", "version")
    if version not in (2, 3):
        raise GGUFError("unsupported GGUF version %d" % version)
    n_tensors, n_kv = cur.unpack("<QQ", "counts")
    if n_kv > len(buf) or n_tensors > len(buf):
        raise GGUFError("implausible counts n_kv=%d n_tensors=%d" % (n_kv, n_tensors))
    kv = {}
    for i in range(n_kv):
        key = cur.string("key %d" % i)
        (vtype,) = cur.unpack("<I", "type of " + key)
        elem_type = None
        if vtype == GGUF_TYPE_ARRAY:
            elem_type, n = cur.unpack("<IQ", "array header of " + key)
            if elem_type == GGUF_TYPE_STRING:
                if n > len(buf):
                    raise GGUFError("%s: array length %d" % (key, n))
                value = [cur.string("%s[%d]" % (key, j)) for j in range(n)]
            elif elem_type in _GGUF_NP:
                dt = _GGUF_NP[elem_type]
                if n > len(buf):
                    raise GGUFError("%s: array length %d" % (key, n))
                value = np.frombuffer(cur.take(n * dt.itemsize, key), dt).copy()
                if elem_type == GGUF_TYPE_BOOL:
                    value = value.astype(bool)
            else:
                raise GGUFError("%s: bad array element type %d" % (key, elem_type))
        else:
            value = _read_value(cur, vtype, key)
        if key in kv:
            raise GGUFError("duplicate key %r" % key)
        kv[key] = KV(key, vtype, value, elem_type)
    alignment = GGUF_DEFAULT_ALIGNMENT
    if "general.alignment" in kv:
        a = kv["general.alignment"]
        if a.type != GGUF_TYPE_UINT32 or a.value == 0 or a.value & (a.value - 1):
            raise GGUFError("bad general.alignment %r" % (a.value,))
        alignment = a.value
    infos = []
    for i in range(n_tensors):
        name = cur.string("tensor name %d" % i)
        (n_dims,) = cur.unpack("<I", name + " n_dims")
        if not 1 <= n_dims <= 4:
            raise GGUFError("%s: n_dims %d" % (name, n_dims))
        ne = list(cur.unpack("<%dq" % n_dims, name + " ne"))
        t, off = cur.unpack("<IQ", name + " type/offset")
        if any(d < 0 for d in ne):
            raise GGUFError("%s: negative ne %s" % (name, ne))
        if t not in GGML_TYPES:
            raise GGUFError("%s: unknown ggml type %d" % (name, t))
        if off % alignment:
            raise GGUFError("%s: offset %d not aligned to %d" % (name, off, alignment))
        infos.append((name, ne, t, off))
    data_offset = _pad(cur.pos, alignment)
    tensors = []
    names = set()
    for name, ne, t, off in infos:
        if name in names:
            raise GGUFError("duplicate tensor %r" % name)
        names.add(name)
        nb = tensor_nbytes(ne, t)
        start = data_offset + off
        if start + nb > len(buf):
            raise GGUFError("%s: data [%d, %d) past the end of the file (%d)"
                            % (name, start, start + nb, len(buf)))
        tensors.append(TensorInfo(name, ne, t, off, nb, buf[start:start + nb]))
    return GGUFFile(version, kv, tensors, alignment, data_offset, buf)


def writer_from_file(gf, alignment=None, version=None):
    """A GGUFWriter holding all KVs (same types, same order) and tensors (raw bytes) of a parsed file.
    Re-serialising a file written by llama.cpp's gguf writer reproduces it byte for byte."""
    w = GGUFWriter(alignment=alignment or gf.alignment, version=version or gf.version)
    for key, kv in gf.kv.items():
        w.add_kv(key, kv.value, kv.type, kv.elem_type)
    for t in gf.tensors:
        w.add_tensor_raw(t.name, t.data, t.ne, t.type)
    return w


def _dump(path):
    f = read_gguf(path)
    print("GGUF v%d, %d KVs, %d tensors, alignment %d, data at %d"
          % (f.version, len(f.kv), len(f.tensors), f.alignment, f.data_offset))
    for kv in f.kv.values():
        if kv.type == GGUF_TYPE_ARRAY:
            v = "[%s x %d]" % (GGUF_TYPE_NAMES.get(kv.elem_type), len(kv.value))
        else:
            v = repr(kv.value)
        print("  %-8s %s = %s" % (GGUF_TYPE_NAMES.get(kv.type), kv.key, v[:80]))
    for t in f.tensors:
        print("  %-6s %-24s %-40s offset %d, %d bytes" % (type_name(t.type), t.ne, t.name, t.offset, t.nbytes))


if __name__ == "__main__":
    import sys
    for p in sys.argv[1:]:
        _dump(p)
