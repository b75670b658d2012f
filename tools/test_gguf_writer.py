"""Tests for tools/gguf_writer.py. Run: /usr/bin/python3 -m pytest tools/

Fixtures are read (never copied) from $TRIT_ORACLE, default ../shared/oracle next to the repo root."""

import math
import os
import struct

import numpy as np
import pytest

import gguf_writer as gw

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORACLE = os.environ.get("TRIT_ORACLE") or os.path.join(os.path.dirname(REPO), "shared", "oracle")
MODELS = os.path.join(ORACLE, "models")

need_oracle = pytest.mark.skipif(not os.path.isdir(MODELS), reason="oracle fixtures not found at " + MODELS)

PROJ = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def model_path(name):
    return os.path.join(MODELS, name)


def weights(fam):
    return np.load(model_path("weights_%s.npz" % fam))


# ---------------------------------------------------------------------------------------------
# byte-exact quantizers against llama.cpp's own files
# ---------------------------------------------------------------------------------------------

@need_oracle
@pytest.mark.parametrize("fam,arch", [("bitnet-tiny", "bitnet-tiny-spm"), ("llama-tiny", "llama-tiny-spm")])
@pytest.mark.parametrize("qtype,suffix", [(gw.GGML_TYPE_TQ2_0, "tq2_0"), (gw.GGML_TYPE_TQ1_0, "tq1_0")])
def test_ternary_bytes_match_llama_cpp(fam, arch, qtype, suffix):
    w = weights(fam)
    f = gw.read_gguf(model_path("%s.%s.gguf" % (arch, suffix)))
    n = 0
    for t in f.tensors:
        if t.name.split(".")[-2] not in PROJ:
            continue
        assert t.type == qtype, t.name
        data, ne = gw.quantize(w[t.name], qtype)
        assert ne == t.ne, t.name
        assert data.tobytes() == bytes(t.data), t.name
        n += 1
    assert n == 14


@need_oracle
@pytest.mark.parametrize("suffix,qtype", [("f16", gw.GGML_TYPE_F16), ("f32", gw.GGML_TYPE_F32)])
def test_float_bytes_match_llama_cpp(suffix, qtype):
    w = weights("bitnet-tiny")
    f = gw.read_gguf(model_path("bitnet-tiny-spm.%s.gguf" % suffix))
    t = f.tensor("token_embd.weight")
    assert t.type == qtype and t.ne == [256, 1000]
    data, ne = gw.quantize(w["token_embd.weight"], qtype)
    assert ne == t.ne
    assert data.tobytes() == bytes(t.data)
    # every other F32/F16 tensor too
    for t in f.tensors:
        data, ne = gw.quantize(w[t.name], t.type)
        assert data.tobytes() == bytes(t.data), t.name


@need_oracle
def test_tq_token_embd_is_f16():
    w = weights("bitnet-tiny")
    f = gw.read_gguf(model_path("bitnet-tiny-spm.tq2_0.gguf"))
    t = f.tensor("token_embd.weight")
    assert t.type == gw.GGML_TYPE_F16
    assert gw.quantize(w["token_embd.weight"], gw.GGML_TYPE_F16)[0].tobytes() == bytes(t.data)


# ---------------------------------------------------------------------------------------------
# whole files through reader -> writer
# ---------------------------------------------------------------------------------------------

FIXTURES = ["bitnet-tiny-spm.tq2_0.gguf", "bitnet-tiny-spm.tq1_0.gguf", "bitnet-tiny-spm.f16.gguf",
            "bitnet-tiny-bpe.tq2_0.gguf", "llama-tiny-spm.f32.gguf"]


def assert_same_parse(a, b):
    assert a.version == b.version and a.alignment == b.alignment and a.data_offset == b.data_offset
    assert list(a.kv) == list(b.kv)
    for k in a.kv:
        x, y = a.kv[k], b.kv[k]
        assert (x.type, x.elem_type) == (y.type, y.elem_type), k
        if isinstance(x.value, np.ndarray):
            assert x.value.dtype == y.value.dtype and np.array_equal(x.value, y.value), k
        else:
            assert x.value == y.value, k
    assert [(t.name, t.ne, t.type, t.offset, t.nbytes) for t in a.tensors] == \
           [(t.name, t.ne, t.type, t.offset, t.nbytes) for t in b.tensors]
    for s, t in zip(a.tensors, b.tensors):
        assert bytes(s.data) == bytes(t.data), s.name


@need_oracle
@pytest.mark.parametrize("name", FIXTURES)
def test_copy_fixture_is_byte_identical(name):
    raw = open(model_path(name), "rb").read()
    f = gw.read_gguf(raw)
    out = gw.writer_from_file(f).to_bytes()
    assert out == raw
    assert_same_parse(f, gw.read_gguf(out))


@need_oracle
def test_rebuild_model_from_npz(tmp_path):
    """Build the tq2_0 model from scratch: fixture KVs + tensors quantized from the npz weights with
    our quantizers, in the fixture's tensor order -> identical file."""
    ref_path = model_path("bitnet-tiny-spm.tq2_0.gguf")
    ref = gw.read_gguf(ref_path)
    w = weights("bitnet-tiny")
    wr = gw.GGUFWriter()
    for k, kv in ref.kv.items():
        wr.add_kv(k, kv.value, kv.type, kv.elem_type)
    for t in ref.tensors:
        assert wr.add_tensor(t.name, w[t.name], t.type) == t.ne
    p = tmp_path / "m.gguf"
    wr.write(str(p))
    assert p.read_bytes() == open(ref_path, "rb").read()


@need_oracle
def test_reader_values():
    f = gw.read_gguf(model_path("bitnet-tiny-spm.tq2_0.gguf"))
    assert f.version == 3 and len(f.tensors) == 24 and f.alignment == 32
    assert f.value("general.architecture") == "bitnet"
    assert f.kv["bitnet.block_count"].type == gw.GGUF_TYPE_UINT32 and f.value("bitnet.block_count") == 2
    assert f.kv["bitnet.attention.layer_norm_rms_epsilon"].type == gw.GGUF_TYPE_FLOAT32
    assert abs(f.value("bitnet.attention.layer_norm_rms_epsilon") - 1e-5) < 1e-10
    toks = f.kv["tokenizer.ggml.tokens"]
    assert toks.type == gw.GGUF_TYPE_ARRAY and toks.elem_type == gw.GGUF_TYPE_STRING and len(toks.value) == 1000
    assert f.value("general.file_type") == 37
    assert f.data_offset % 32 == 0
    for t in f.tensors:
        assert t.offset % 32 == 0


@need_oracle
def test_dequantize_matches_weights():
    w = weights("bitnet-tiny")
    f = gw.read_gguf(model_path("bitnet-tiny-spm.tq1_0.gguf"))
    g = gw.read_gguf(model_path("bitnet-tiny-spm.tq2_0.gguf"))
    for name in ("blk.0.attn_q.weight", "blk.1.ffn_down.weight"):
        a, b = f.tensor_array(name), g.tensor_array(name)
        assert np.array_equal(a, b)
        x = w[name]
        # ternary weights {-s,0,s}: the per-block fp16 absmax reproduces them to fp16 precision
        assert np.allclose(a, x, rtol=1e-3, atol=0)


# ---------------------------------------------------------------------------------------------
# KV types and layout
# ---------------------------------------------------------------------------------------------

def test_all_kv_types_roundtrip():
    w = gw.GGUFWriter()
    w.add_uint8("u8", 255)
    w.add_int8("i8", -128)
    w.add_uint16("u16", 65535)
    w.add_int16("i16", -32768)
    w.add_uint32("u32", 2**32 - 1)
    w.add_int32("i32", -2**31)
    w.add_uint64("u64", 2**64 - 1)
    w.add_int64("i64", -2**63)
    w.add_float32("f32", 1.5)
    w.add_float64("f64", math.pi)
    w.add_bool("b", True)
    w.add_string("s", "héllo ✓")
    w.add_string("empty", "")
    w.add_array("a_u8", [1, 2, 3], gw.GGUF_TYPE_UINT8)
    w.add_array("a_i64", [-1, 2**40], gw.GGUF_TYPE_INT64)
    w.add_array("a_f32", [0.5, -2.0], gw.GGUF_TYPE_FLOAT32)
    w.add_array("a_f64", [1e300], gw.GGUF_TYPE_FLOAT64)
    w.add_array("a_bool", [True, False, True], gw.GGUF_TYPE_BOOL)
    w.add_array("a_str", ["a", "", "日本"], gw.GGUF_TYPE_STRING)
    w.add_array("a_empty", [], gw.GGUF_TYPE_INT32)
    w.add_kv("inferred_int", 7)
    w.add_kv("inferred_list", ["x", "y"])
    f = gw.read_gguf(w.to_bytes())
    v = {k: kv.value for k, kv in f.kv.items()}
    assert v["u8"] == 255 and v["i8"] == -128 and v["u16"] == 65535 and v["i16"] == -32768
    assert v["u32"] == 2**32 - 1 and v["i32"] == -2**31 and v["u64"] == 2**64 - 1 and v["i64"] == -2**63
    assert v["f32"] == 1.5 and v["f64"] == math.pi and v["b"] is True
    assert v["s"] == "héllo ✓" and v["empty"] == ""
    assert list(v["a_u8"]) == [1, 2, 3] and list(v["a_i64"]) == [-1, 2**40]
    assert list(v["a_f32"]) == [0.5, -2.0] and list(v["a_f64"]) == [1e300]
    assert list(v["a_bool"]) == [True, False, True]
    assert v["a_str"] == ["a", "", "日本"] and len(v["a_empty"]) == 0
    assert f.kv["inferred_int"].type == gw.GGUF_TYPE_INT32
    assert f.kv["inferred_list"].elem_type == gw.GGUF_TYPE_STRING
    types = [kv.type for kv in f.kv.values()]
    assert types[:12] == [0, 1, 2, 3, 4, 5, 10, 11, 6, 12, 7, 8]
    assert set(types) == set(range(13))             # every GGUF type id 0..12 appears
    assert {kv.elem_type for kv in f.kv.values() if kv.type == gw.GGUF_TYPE_ARRAY} == {0, 5, 6, 7, 8, 11, 12}
    # re-serialising the parse gives the same bytes
    assert gw.writer_from_file(f).to_bytes() == w.to_bytes()


def test_exact_encoding_of_header_and_kv():
    w = gw.GGUFWriter()
    w.add_uint32("k", 7)
    w.add_array("a", ["xy"], gw.GGUF_TYPE_STRING)
    b = w.to_bytes()
    expect = (b"GGUF" + struct.pack("<IQQ", 3, 0, 2)
              + struct.pack("<Q", 1) + b"k" + struct.pack("<II", 4, 7)
              + struct.pack("<Q", 1) + b"a" + struct.pack("<IIQ", 9, 8, 1) + struct.pack("<Q", 2) + b"xy")
    assert b[:len(expect)] == expect
    assert len(b) % 32 == 0 and b[len(expect):] == b"\0" * (len(b) - len(expect))


def test_range_and_type_errors():
    w = gw.GGUFWriter()
    with pytest.raises(gw.GGUFError):
        w.add_uint8("x", 256)
    with pytest.raises(gw.GGUFError):
        w.add_int32("x", 2**31)
    with pytest.raises(gw.GGUFError):
        w.add_array("x", [[1]], gw.GGUF_TYPE_ARRAY)
    with pytest.raises(gw.GGUFError):
        w.add_array("x", [300], gw.GGUF_TYPE_UINT8)
    with pytest.raises(gw.GGUFError):
        gw.GGUFWriter(alignment=48)
    with pytest.raises(gw.GGUFError):
        w.add_tensor("t", np.zeros((4, 100), np.float32), gw.GGML_TYPE_TQ2_0)   # ne0 % 256
    with pytest.raises(gw.GGUFError):
        w.add_tensor_raw("t", b"\0" * 3, [4], gw.GGML_TYPE_F32)


def test_alignment_and_tensor_layout():
    w = gw.GGUFWriter(alignment=64)
    w.add_string("general.architecture", "test")
    a = np.arange(10, dtype=np.float32)          # 40 bytes -> padded to 64
    b = np.ones((2, 256), np.float32)
    w.add_tensor("a", a)
    w.add_tensor("b", b, gw.GGML_TYPE_Q8_0)
    w.add_tensor_raw("c", b"\x01\x02", [1], gw.GGML_TYPE_F16)
    raw = w.to_bytes()
    f = gw.read_gguf(raw)
    assert f.kv["general.alignment"].type == gw.GGUF_TYPE_UINT32 and f.alignment == 64
    assert f.data_offset % 64 == 0
    assert [(t.name, t.offset, t.nbytes, t.ne) for t in f.tensors] == [
        ("a", 0, 40, [10]), ("b", 64, 2 * 8 * 34, [256, 2]), ("c", 64 + 576, 2, [1])]
    assert len(raw) == f.data_offset + 64 + 576 + 64      # padded after the last tensor too
    assert raw[f.data_offset + 40:f.data_offset + 64] == b"\0" * 24
    assert np.array_equal(f.tensor_array("a"), a)
    assert np.allclose(f.tensor_array("b"), b, rtol=1e-3)     # d = fp16(1/127)


def test_version2_and_invalid_utf8_key():
    w = gw.GGUFWriter(version=2)
    w.add_uint32("bad\udcff\udcfekey", 1)        # surrogateescape: raw bytes ff fe in the file
    w.add_string("s", b"\xc3\x28")               # invalid UTF-8 value bytes written as given
    raw = w.to_bytes()
    assert struct.unpack("<I", raw[4:8])[0] == 2
    assert b"bad\xff\xfekey" in raw and b"\xc3\x28" in raw
    f = gw.read_gguf(raw)
    assert f.version == 2
    assert gw.writer_from_file(f).to_bytes() == raw


def test_reader_rejects_garbage():
    good = gw.GGUFWriter()
    good.add_uint32("k", 1)
    good.add_tensor("t", np.zeros(8, np.float32))
    raw = good.to_bytes()
    gw.read_gguf(raw)
    for bad in (b"GGUX" + raw[4:], raw[:4] + struct.pack("<I", 9) + raw[8:], raw[:20], raw[:-32]):
        with pytest.raises(gw.GGUFError):
            gw.read_gguf(bad)


# ---------------------------------------------------------------------------------------------
# quantizers: formats not covered by the fixtures, checked against scalar ports of the C code
# ---------------------------------------------------------------------------------------------

def test_round_half_away():
    v = np.array([0.5, -0.5, 1.5, -2.5, 0.49999997, -0.49999997, 2.4999998, 0.0, -0.0, 126.5], np.float32)
    r = gw._round_half_away(v)
    assert list(r) == [1, -1, 2, -3, 0, 0, 2, 0, 0, 127]


def q8_0_scalar(x):
    out = bytearray()
    x = np.asarray(x, np.float32).reshape(-1)
    for i in range(0, x.size, 32):
        blk = x[i:i + 32]
        amax = np.float32(0)
        for v in blk:
            amax = max(amax, np.float32(abs(v)))
        d = np.float32(amax / np.float32(127))
        idv = np.float32(1) / d if d else np.float32(0)
        out += np.array([d], np.float16).tobytes()
        for v in blk:
            x0 = np.float32(v * idv)
            q = int(math.floor(abs(float(x0)) + 0.5)) if abs(float(x0)) % 1 != 0.5 else int(abs(float(x0)) + 0.5)
            out += struct.pack("<b", q if x0 >= 0 else -q)
    return bytes(out)


def test_q8_0_scalar_port():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 64)).astype(np.float32)
    x[0, :32] = 0                                  # all-zero block: d = 0
    x[1, 5] = 10.0                                 # one large value
    x[2, :32] = np.linspace(-1, 1, 32)             # exact halves after scaling
    assert gw.quantize_q8_0(x).tobytes() == q8_0_scalar(x)
    y = gw.dequantize(gw.quantize_q8_0(x), [64, 3], gw.GGML_TYPE_Q8_0)
    assert np.abs(y - x).max() <= np.abs(x).max() / 127


def test_bf16():
    x = np.array([1.0, -2.5, 3.14159, 1e-40, np.inf, -np.inf, np.nan, 65504.0, 1.00390625], np.float32)
    b = gw.quantize_bf16(x).view("<u2")
    u = x.view(np.uint32)
    for i in range(x.size):
        if np.isnan(x[i]):
            assert b[i] == ((int(u[i]) >> 16) | 64)
        else:
            assert b[i] == (int(u[i]) + 0x7FFF + ((int(u[i]) >> 16) & 1)) >> 16
    assert b[8] == 0x3F80                          # 1.00390625 = 1 + 2^-8: tie -> even
    y = gw.dequantize(gw.quantize_bf16(x[:6]), [6], gw.GGML_TYPE_BF16)
    assert np.allclose(y[:4], x[:4], rtol=1e-2) and np.isinf(y[4])


def i2s_scalar(x):
    """Direct port of bitnet.cpp's quantize_i2_s (x86, 128-block) + zero-filled trailer."""
    flat = np.asarray(x, np.float32).reshape(-1)
    n = flat.size
    scale = 0.0
    for v in flat:
        scale = max(scale, abs(float(v)))
    scale = float(np.float32(scale))
    q8 = []
    for v in flat:
        if abs(float(v)) < 1e-6:
            q8.append(1)
        else:
            q8.append(2 if float(v) * scale > 0 else 0)
    out = bytearray(n // 4 + 32)
    for i in range(n // 128):
        for j in range(128):
            out[32 * i + j % 32] |= q8[128 * i + j] << (6 - 2 * (j // 32))
    out[n // 4:n // 4 + 4] = struct.pack("<f", scale)
    return bytes(out)


def test_i2s_worked_example():
    j = np.arange(128)
    t = (j % 3) - 1
    x = (t * 0.5).astype(np.float32).reshape(1, 128)
    data, ne = gw.quantize(x, gw.GGML_TYPE_I2_S)
    b = data.tobytes()
    assert ne == [128, 1] and len(b) == 64
    assert b[:32] == bytes([0x24, 0x49, 0x92] * 11)[:32]
    assert b[:3].hex() == "244992"
    assert b[32:36] == bytes([0x00, 0x00, 0x00, 0x3F])
    assert b[36:] == b"\0" * 28
    assert np.array_equal(gw.dequantize(b, ne, gw.GGML_TYPE_I2_S), x)


def test_i2s_scalar_port_and_roundtrip():
    rng = np.random.default_rng(2)
    s = np.float32(0.0371)
    t = rng.integers(-1, 2, size=(8, 256))
    x = (t * s).astype(np.float32)
    x[0, 0] = 5e-7                                 # tiny -> code 1 (zero)
    x[0, 1] = -5e-7
    b = gw.quantize_i2_s(x)
    assert b.tobytes() == i2s_scalar(x)
    assert b.size == 8 * 256 // 4 + 32
    y = gw.dequantize(b, [256, 8], gw.GGML_TYPE_I2_S)
    x[0, :2] = 0
    assert np.array_equal(y, x)
    with pytest.raises(gw.GGUFError):
        gw.quantize_i2_s(np.zeros((4, 64), np.float32))
    # an all-zero tensor: scale 0, every code 1
    z = gw.quantize_i2_s(np.zeros((1, 128), np.float32))
    assert z[:32].tobytes() == b"\x55" * 32 and z[32:].tobytes() == b"\0" * 32


def test_tq_edge_blocks():
    x = np.zeros((4, 256), np.float32)
    x[1] = np.where(np.arange(256) % 2, 0.25, -0.25)
    x[2] = 0.1 * np.sign(np.sin(np.arange(256)))
    x[3, 7] = -3.0
    x[3, 8] = 1.4999                               # 0.49997 * (1/3) -> rounds to 0
    x[3, 9] = 1.5                                  # exactly 0.5 -> rounds away to +1
    for qt in (gw.GGML_TYPE_TQ1_0, gw.GGML_TYPE_TQ2_0):
        y = gw.dequantize(gw.quantize(x, qt)[0], [256, 4], qt)
        assert np.array_equal(y[0], x[0])
        assert np.array_equal(y[1], x[1]) and np.allclose(y[2], x[2], rtol=1e-3)
        assert y[3, 7] == -3.0 and y[3, 8] == 0 and y[3, 9] == 3.0
    a = gw.quantize_tq1_0(x)
    assert a.size == 4 * 54 and gw.quantize_tq2_0(x).size == 4 * 66
    # all-zero block: d = 0, every trit 1 (= 0): TQ1_0 byte = ceil(121*256/243) = 128, qh: ceil(120*256/243)=127
    assert a[:48].tobytes() == bytes([128]) * 48 and a[48:52].tobytes() == bytes([127]) * 4
    assert a[52:54].tobytes() == b"\0\0"


def q6k_dequant_scalar(b):
    """ggml dequantize_row_q6_K, scalar port."""
    y = []
    for blk in range(len(b) // 210):
        x = b[blk * 210:(blk + 1) * 210]
        ql, qh, sc = list(x[0:128]), list(x[128:192]), struct.unpack("<16b", x[192:208])
        d = float(np.frombuffer(x[208:210], "<f2")[0])
        out = [0.0] * 256
        for n in range(2):
            for l in range(32):
                is_ = l // 16
                q1 = ((ql[64 * n + l] & 0xF) | (((qh[32 * n + l] >> 0) & 3) << 4)) - 32
                q2 = ((ql[64 * n + l + 32] & 0xF) | (((qh[32 * n + l] >> 2) & 3) << 4)) - 32
                q3 = ((ql[64 * n + l] >> 4) | (((qh[32 * n + l] >> 4) & 3) << 4)) - 32
                q4 = ((ql[64 * n + l + 32] >> 4) | (((qh[32 * n + l] >> 6) & 3) << 4)) - 32
                s = sc[8 * n:8 * n + 8]
                out[128 * n + l + 0] = d * s[is_ + 0] * q1
                out[128 * n + l + 32] = d * s[is_ + 2] * q2
                out[128 * n + l + 64] = d * s[is_ + 4] * q3
                out[128 * n + l + 96] = d * s[is_ + 6] * q4
        y += out
    return np.array(y, np.float32)


def test_q6_k_valid():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 512)).astype(np.float32)
    x[1, :256] = 0                                  # zero block
    x[2, 256:272] *= 100                            # one loud sub-block
    b = gw.quantize_q6_k(x)
    assert b.size == 6 * 210
    y = gw.dequantize(b, [512, 3], gw.GGML_TYPE_Q6_K)
    assert np.allclose(y.reshape(-1), q6k_dequant_scalar(b.tobytes()), rtol=1e-6, atol=1e-6)
    assert np.all(y[1, :256] == 0)
    for r in range(3):
        for blk in range(2):
            xs = x[r, 256 * blk:256 * (blk + 1)]
            ys = y[r, 256 * blk:256 * (blk + 1)]
            # per-16 sub-block: error within ~ one quantization step of that sub-block
            for s in range(16):
                xx, yy = xs[16 * s:16 * s + 16], ys[16 * s:16 * s + 16]
                assert np.abs(xx - yy).max() <= np.abs(xs).max() / 31 * 1.1 + 1e-6


def test_f16_rounding():
    x = np.array([1 + 2**-11, 1 + 3 * 2**-11, 65520.0, 1e-8, -0.0], np.float32)
    h = gw.quantize_f16(x).view("<u2")
    assert list(h) == [0x3C00, 0x3C02, 0x7C00, 0x0000, 0x8000]


def test_quantize_speed():
    import time
    x = np.random.default_rng(4).integers(-1, 2, size=(2560, 6912)).astype(np.float32) * np.float32(0.02)
    for qt in (gw.GGML_TYPE_TQ2_0, gw.GGML_TYPE_TQ1_0, gw.GGML_TYPE_I2_S):
        t0 = time.perf_counter()
        data, ne = gw.quantize(x, qt)
        dt = time.perf_counter() - t0
        assert data.size == gw.tensor_nbytes(ne, qt)
        assert dt < 3.0, (gw.type_name(qt), dt)    # ~0.1-0.3 s on one core; generous for a busy box


def test_tensor_nbytes():
    assert gw.tensor_nbytes([2560, 6912], gw.GGML_TYPE_I2_S) == 2560 * 6912 // 4 + 32
    assert gw.tensor_nbytes([256, 3], gw.GGML_TYPE_TQ2_0) == 3 * 66
    assert gw.tensor_nbytes([256, 3], gw.GGML_TYPE_TQ1_0) == 3 * 54
    assert gw.tensor_nbytes([64, 2], gw.GGML_TYPE_Q8_0) == 4 * 34
    assert gw.tensor_nbytes([256], gw.GGML_TYPE_Q6_K) == 210
    assert gw.tensor_nbytes([7, 3], gw.GGML_TYPE_BF16) == 42


def test_reader_random_corruption_raises_only_gguferror():
    """Random byte flips and truncations of a small file: the reader either parses or raises GGUFError
    (never IndexError, struct.error, MemoryError, ...)."""
    w = gw.GGUFWriter()
    w.add_string("general.architecture", "bitnet")
    w.add_array("tokenizer.ggml.tokens", ["<s>", "a", "bc"], gw.GGUF_TYPE_STRING)
    w.add_array("tokenizer.ggml.scores", [0.0, -1.0, -2.0], gw.GGUF_TYPE_FLOAT32)
    w.add_bool("b", False)
    w.add_tensor("x", np.ones((2, 256), np.float32), gw.GGML_TYPE_TQ2_0)
    w.add_tensor("y", np.ones(4, np.float32))
    raw = w.to_bytes()
    hdr_end = gw.read_gguf(raw).data_offset
    rng = np.random.default_rng(5)
    for it in range(1500):
        b = bytearray(raw)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(0, hdr_end))] = int(rng.integers(0, 256))
        if it % 3 == 0:
            b = b[:int(rng.integers(0, len(b)))]
        try:
            gw.read_gguf(bytes(b))
        except gw.GGUFError:
            pass
