"""Fast tests (< 60 s) of the training/conversion pipeline: tokenizer, safetensors, converter, trainer
checkpoint/resume, and (when build/trit exists) the engine against the PyTorch forward pass.

    /usr/bin/python3 -m pytest tools/train

Tests that need torch are skipped when it is not installed; engine tests are skipped without build/trit.
"""
import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
for p in (HERE, os.path.join(ROOT, "tools"), os.path.join(ROOT, "tools", "convert"), os.path.join(ROOT, "tools", "bpe")):
    if p not in sys.path:
        sys.path.insert(0, p)

import bpe                                   # noqa: E402
import convert                               # noqa: E402
import gguf_writer as gw                     # noqa: E402
from safetensors_np import read_safetensors, read_safetensors_header, write_safetensors  # noqa: E402

ORACLE = os.environ.get("TRIT_ORACLE", os.path.join(ROOT, "..", "shared", "oracle"))
TRIT = shlex.split(os.environ.get("TRIT_BIN", os.path.join(ROOT, "build", "trit")))
HAVE_TRIT = os.path.exists(TRIT[0]) if len(TRIT) == 1 else True

try:
    import torch
    torch.set_num_threads(1)
    HAVE_TORCH = True
except ImportError:                          # the project's CI may not have torch yet
    HAVE_TORCH = False

needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed (apt-get install python3-torch)")
needs_trit = pytest.mark.skipif(not HAVE_TRIT, reason="build/trit not built (make build/trit)")

STORY = ("once upon a time, there was a little girl named lily. she loved to play outside in the sun. "
         "one day, she saw a big red ball in the park! \"can i play with you?\" she asked the boy. "
         "he said, \"yes, let's play together.\" they played until 5 o'clock, and lily was very happy.\n")
TEXTS = [STORY, "tom and sam went to the shop. they didn't have 12 coins, only 3.\nthe end.",
         "the dog's bone was big. it's fun!  two  spaces\tand a tab \u00e9t\u00e9 \u201cquoted\u201d 1234567",
         "", " ", "\n\n", "emoji \U0001F600 and \u4e2d\u6587"]


def tiny_tokenizer(vocab_size=320):
    words = bpe.count_words([STORY * 3, TEXTS[1] * 2])
    return bpe.train(words, vocab_size)


# ---- tokenizer ---------------------------------------------------------------------------------------

def test_pretokenizer_and_bpe_match_llama_cpp():
    """The Python encoder gives llama.cpp's ids on the oracle's 16 tricky strings (llama-bpe vocab)."""
    vp = os.path.join(ORACLE, "models", "tokenizer_bpe.json")
    cp = os.path.join(ORACLE, "tokenizer", "bpe.json")
    if not (os.path.exists(vp) and os.path.exists(cp)):
        pytest.skip("oracle fixtures not found")
    with open(vp) as f:
        d = json.load(f)
    sp = {t: i for i, (t, ty) in enumerate(zip(d["tokens"], d["types"])) if ty == 3}
    tok = bpe.Tokenizer(d["tokens"], [m.split(" ", 1) for m in d["merges"]], sp,
                        bos=d["tokens"][d["bos"]], eos=d["tokens"][d["eos"]])
    with open(cp) as f:
        cases = json.load(f)["cases"]
    for c in cases:
        assert tok.encode(c["text"]) == c["ids"], c["text"]


def test_pretokenize_splits():
    assert bpe.pretokenize("hello world") == ["hello", " world"]
    assert bpe.pretokenize("it's 12345 ok!!\n\nnext") == ["it", "'s", " ", "123", "45", " ok", "!!\n\n", "next"]
    assert bpe.pretokenize("a  b") == ["a", " ", " b"]
    for t in TEXTS:
        assert "".join(bpe.pretokenize(t)) == t


def test_bpe_train_roundtrip(tmp_path):
    tok = tiny_tokenizer()
    assert tok.vocab_size == 320
    assert tok.tokens[:256] == [bpe.BYTE_ENC[b] for b in range(256)]
    assert tok.token_types()[-2:] == [3, 3] and tok.bos_id == 318 and tok.eos_id == 319
    assert len(set(tok.tokens)) == tok.vocab_size                       # every merge made a new token
    for t in TEXTS:
        ids = tok.encode(t)
        assert ids[0] == tok.bos_id
        assert tok.decode(ids) == t
    assert len(tok.encode(STORY)) < len(STORY.encode()) // 2            # merges compress the training text
    # deterministic, and tokenizer.json round trip
    tok2 = tiny_tokenizer()
    assert tok2.merges == tok.merges and tok2.tokens == tok.tokens
    p = tmp_path / "tokenizer.json"
    tok.save(str(p))
    tok3 = bpe.Tokenizer.load(str(p), tok.tokenizer_config())
    assert tok3.tokens == tok.tokens and tok3.merges == tok.merges and tok3.bos_id == tok.bos_id
    for t in TEXTS:
        assert tok3.encode(t) == tok.encode(t)


# ---- safetensors ------------------------------------------------------------------------------------

def test_safetensors_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    t = {"a.weight": rng.standard_normal((3, 5)).astype(np.float32),
         "b": rng.standard_normal(7).astype(np.float16),
         "c.codes": rng.integers(0, 255, (4, 9), dtype=np.uint8),
         "d": np.array([-3, 4], np.int8), "e": np.arange(6, dtype=np.int64).reshape(2, 3),
         "f.scalar": np.array(2.5, np.float32)}
    p = tmp_path / "m.safetensors"
    write_safetensors(str(p), t, metadata={"format": "pt"})
    header, base = read_safetensors_header(str(p))
    assert base % 8 == 0 and header["__metadata__"] == {"format": "pt"}
    assert header["a.weight"] == {"dtype": "F32", "shape": [3, 5], "data_offsets": [0, 60]}
    back, meta = read_safetensors(str(p))
    assert meta == {"format": "pt"} and set(back) == set(t)
    for k in t:
        assert back[k].dtype == t[k].dtype and back[k].shape == t[k].shape and np.array_equal(back[k], t[k])
    # BF16: written from float32 (round to nearest even), read back as float32
    x = np.array([1.0, -2.5, 3.1415926, 1e-3], np.float32)
    write_safetensors(str(p), {"x": x}, dtypes={"x": "BF16"})
    y, _ = read_safetensors(str(p))
    assert read_safetensors_header(str(p))[0]["x"]["dtype"] == "BF16"
    assert np.allclose(y["x"], x, rtol=4e-3) and y["x"][0] == 1.0 and y["x"][1] == -2.5


# ---- converter ---------------------------------------------------------------------------------------

HP = dict(n_vocab=320, n_embd=256, n_layer=2, n_head=4, n_head_kv=2, n_ff=512, n_ctx=64)


def hf_config(act="silu", fp16_scale=True, **kw):
    h = dict(HP, **kw)
    c = {"architectures": ["BitnetForCausalLM"], "vocab_size": h["n_vocab"], "hidden_size": h["n_embd"],
         "intermediate_size": h["n_ff"], "num_hidden_layers": h["n_layer"], "num_attention_heads": h["n_head"],
         "num_key_value_heads": h["n_head_kv"], "max_position_embeddings": h["n_ctx"], "rms_norm_eps": 1e-5,
         "rope_theta": 10000.0, "hidden_act": act, "tie_word_embeddings": True}
    if fp16_scale:
        c["trit_weight_scale"] = "fp16"
    return c


def proj_shapes(h=HP):
    E, F, kv = h["n_embd"], h["n_ff"], h["n_embd"] // h["n_head"] * h["n_head_kv"]
    return {"self_attn.q_proj": (E, E), "self_attn.k_proj": (kv, E), "self_attn.v_proj": (kv, E),
            "self_attn.o_proj": (E, E), "mlp.gate_proj": (F, E), "mlp.up_proj": (F, E), "mlp.down_proj": (E, F)}


def write_checkpoint(d, tensors, cfg, tok):
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    tok.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(tok.tokenizer_config(), f)


def random_float_checkpoint(seed=0, sub_norm_names=("self_attn.inner_attn_ln", "mlp.ffn_layernorm")):
    rng = np.random.default_rng(seed)
    E, F = HP["n_embd"], HP["n_ff"]
    t = {"model.embed_tokens.weight": rng.standard_normal((HP["n_vocab"], E)).astype(np.float32),
         "model.norm.weight": (1 + 0.1 * rng.standard_normal(E)).astype(np.float32)}
    for i in range(HP["n_layer"]):
        p = "model.layers.%d." % i
        for hf, shape in proj_shapes().items():
            t[p + hf + ".weight"] = (0.05 * rng.standard_normal(shape)).astype(np.float32)
        for hf, n in (("input_layernorm", E), ("post_attention_layernorm", E), (sub_norm_names[0], E),
                      (sub_norm_names[1], F)):
            t[p + hf + ".weight"] = (1 + 0.1 * rng.standard_normal(n)).astype(np.float32)
    return t


def test_convert_float_checkpoint(tmp_path):
    tok = tiny_tokenizer()
    T = random_float_checkpoint()
    ck = str(tmp_path / "hf")
    write_checkpoint(ck, T, hf_config(), tok)
    out = str(tmp_path / "m.gguf")
    convert.convert(ck, out, log=lambda s: None)
    g = gw.read_gguf(out)
    v = g.value
    assert v("general.architecture") == "bitnet" and v("general.file_type") == 37
    assert v("general.quantization_version") == 2
    for k, want in (("context_length", 64), ("embedding_length", 256), ("block_count", 2),
                    ("feed_forward_length", 512), ("attention.head_count", 4), ("attention.head_count_kv", 2),
                    ("rope.dimension_count", 64), ("vocab_size", 320)):
        assert v("bitnet." + k) == want, k
    assert abs(v("bitnet.attention.layer_norm_rms_epsilon") - 1e-5) < 1e-12 and v("bitnet.rope.freq_base") == 10000.0
    assert v("tokenizer.ggml.model") == "gpt2" and v("tokenizer.ggml.pre") == "llama-bpe"
    assert v("tokenizer.ggml.tokens") == tok.tokens
    assert v("tokenizer.ggml.merges") == ["%s %s" % m for m in tok.merges]
    assert list(v("tokenizer.ggml.token_type")) == tok.token_types()
    assert v("tokenizer.ggml.bos_token_id") == tok.bos_id and v("tokenizer.ggml.eos_token_id") == tok.eos_id
    assert v("tokenizer.ggml.add_bos_token") is True
    types = {t.name: (gw.type_name(t.type), list(t.ne)) for t in g.tensors}
    assert types["token_embd.weight"] == ("F16", [256, 320])
    assert types["output_norm.weight"] == ("F32", [256])
    assert "output.weight" not in types
    assert len(types) == 2 + HP["n_layer"] * 11
    for i in range(HP["n_layer"]):
        for n, ne in (("attn_q", [256, 256]), ("attn_k", [256, 128]), ("attn_v", [256, 128]),
                      ("attn_output", [256, 256]), ("ffn_gate", [256, 512]), ("ffn_up", [256, 512]),
                      ("ffn_down", [512, 256])):
            assert types["blk.%d.%s.weight" % (i, n)] == ("TQ2_0", ne)
        for n, ne in (("attn_norm", [256]), ("ffn_norm", [256]), ("attn_sub_norm", [256]), ("ffn_sub_norm", [512])):
            assert types["blk.%d.%s.weight" % (i, n)] == ("F32", ne)
    # the stored ternary weights are exactly clamp(round(W / s16)) * s16 with s16 = fp16(mean|W|)
    for hf, gg in convert.PROJ.items():
        W = T["model.layers.1.%s.weight" % hf]
        s = np.float32(np.float16(np.float32(np.abs(W.astype(np.float64)).mean())))
        q = np.clip(np.round(W / s), -1, 1)
        assert np.array_equal(g.tensor_array("blk.1.%s.weight" % gg), (q * s).astype(np.float32)), gg
    assert np.array_equal(g.tensor_array("blk.0.ffn_sub_norm.weight"), T["model.layers.0.mlp.ffn_layernorm.weight"])
    # --scale-tensors: +-1/0 matrices and 1-element F32 scales with the same product
    out2 = str(tmp_path / "s.gguf")
    convert.convert(ck, out2, outtype="tq1_0", embd="q8_0", scale_tensors=True, log=lambda s: None)
    g2 = gw.read_gguf(out2)
    assert g2.value("general.file_type") == 36
    assert gw.type_name(g2.tensor("blk.0.attn_q.weight").type) == "TQ1_0"
    assert gw.type_name(g2.tensor("token_embd.weight").type) == "Q8_0"
    for gg in convert.PROJ.values():
        q2 = g2.tensor_array("blk.0.%s.weight" % gg)
        s2 = g2.tensor_array("blk.0.%s.scale" % gg)
        assert set(np.unique(q2)) <= {-1.0, 0.0, 1.0} and s2.shape == (1,)
        assert np.array_equal(q2 * s2[0], g.tensor_array("blk.0.%s.weight" % gg))


def test_unpack_2b4t_known_answer():
    """The example in transformers' unpack_weights docstring (integrations/bitnet.py)."""
    packed = np.array([[0b10100001, 0b00011000], [0b10010000, 0b00001010]], np.uint8)
    want = np.array([[0, -1], [-1, 1], [-1, 1], [-1, 1], [1, 0], [0, -1], [1, -1], [1, -1]], np.int8)
    assert np.array_equal(convert.unpack_2b4t(packed, 8), want)
    assert np.array_equal(convert.pack_2b4t(want), packed)


def test_convert_packed_2b4t_checkpoint(tmp_path):
    """2B4T style: uint8 (out/4, in) codes + weight_scale (real weight = Q / weight_scale), ReLU^2 -> bitnet-b1.58,
    sub-norms named attn_sub_norm / ffn_sub_norm."""
    rng = np.random.default_rng(1)
    tok = tiny_tokenizer()
    T = random_float_checkpoint(2, ("self_attn.attn_sub_norm", "mlp.ffn_sub_norm"))
    Q, WS = {}, {}
    for i in range(HP["n_layer"]):
        for hf, shape in proj_shapes().items():
            n = "model.layers.%d.%s" % (i, hf)
            q = rng.integers(-1, 2, shape).astype(np.int8)
            ws = np.float32(rng.uniform(1.0, 8.0))
            T[n + ".weight"] = convert.pack_2b4t(q)
            T[n + ".weight_scale"] = np.array([ws], np.float32)
            Q[n], WS[n] = q, ws
    ck = str(tmp_path / "hf")
    write_checkpoint(ck, T, hf_config(act="relu2", fp16_scale=False), tok)
    out = str(tmp_path / "m.gguf")
    convert.convert(ck, out, log=lambda s: None)
    g = gw.read_gguf(out)
    assert g.value("general.architecture") == "bitnet-b1.58"
    assert g.value("bitnet-b1.58.block_count") == 2
    for i in range(HP["n_layer"]):
        for hf, gg in convert.PROJ.items():
            n = "model.layers.%d.%s" % (i, hf)
            s16 = np.float32(np.float16(np.float32(1) / WS[n]))          # TQ2_0 d is fp16
            got = g.tensor_array("blk.%d.%s.weight" % (i, gg))
            assert np.array_equal(got, Q[n].astype(np.float32) * s16), n
    assert np.array_equal(g.tensor_array("blk.1.attn_sub_norm.weight"), T["model.layers.1.self_attn.attn_sub_norm.weight"])


def test_convert_rejects_bad_input(tmp_path):
    tok = tiny_tokenizer()
    T = random_float_checkpoint()
    T["model.layers.0.mlp.extra.weight"] = np.zeros(3, np.float32)
    ck = str(tmp_path / "hf")
    write_checkpoint(ck, T, hf_config(), tok)
    with pytest.raises(convert.ConvertError, match="unused tensors"):
        convert.convert(ck, str(tmp_path / "x.gguf"), log=lambda s: None)
    del T["model.layers.0.mlp.extra.weight"]
    T["lm_head.weight"] = T["model.embed_tokens.weight"] + 1
    write_checkpoint(ck, T, hf_config(), tok)
    with pytest.raises(convert.ConvertError, match="ties the output"):
        convert.convert(ck, str(tmp_path / "x.gguf"), log=lambda s: None)


# ---- trainer -----------------------------------------------------------------------------------------

def tiny_corpus(d):
    import data
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(3)
    names = ["lily", "tom", "sam", "the cat", "a dog"]
    acts = ["played with a ball", "ran to the park", "ate a red apple", "saw a big tree", "was very happy"]

    def story():
        return " ".join("%s %s." % (names[rng.integers(5)], acts[rng.integers(5)]) for _ in range(12))
    for fn, sep in data.TRAIN_FILES + data.VAL_FILES:
        n = 40 if fn in dict(data.TRAIN_FILES) else 8
        joiner = "\0" if sep == "nul" else "\n\n"
        with open(os.path.join(d, fn), "w") as f:
            f.write(joiner.join(story() for _ in range(n)))


TINY_CFG = {"name": "tiny", "model": {"n_embd": 64, "n_layer": 1, "n_head": 2, "n_head_kv": 1, "n_ff": 128,
                                      "n_ctx": 32, "rms_eps": 1e-5, "rope_base": 10000.0, "act_quant": "token"},
            "train": {"batch_size": 4, "max_steps": 8, "lr": 3e-3, "min_lr_frac": 0.1, "warmup_steps": 2,
                      "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.95, "grad_clip": 1.0, "seed": 7,
                      "log_every": 2, "eval_every": 4, "eval_windows": 4, "ckpt_every_s": 1e9}}


@needs_torch
def test_bitlinear_quantization():
    from model import BitLinear, act_quant_block, act_quant_token, weight_quant
    torch.manual_seed(0)
    lin = BitLinear(256, 8)
    wq = weight_quant(lin.weight)
    s = wq.abs().max()
    assert set(torch.unique(wq / s).tolist()) <= {-1.0, 0.0, 1.0}
    assert float(s) == float(torch.tensor(float(s)).half().float())          # fp16-exact scale
    x = torch.randn(3, 256)
    xq = act_quant_token(x)
    step = x.abs().amax(-1, keepdim=True) / 127
    assert torch.allclose(torch.round(xq / step), xq / step, atol=1e-3)
    assert torch.equal(act_quant_block(x), act_quant_token(x)) or \
        (act_quant_block(x) - act_quant_token(x)).abs().max() < 1e-6           # n = 256: one block = one token
    # gradients flow (straight-through)
    y = lin(x.requires_grad_())
    y.sum().backward()
    assert lin.weight.grad is not None and x.grad is not None and x.grad.abs().sum() > 0


@needs_torch
@pytest.mark.parametrize("matmul", ["f32", "bf16"])
def test_train_resume_is_exact(tmp_path, matmul):
    """Both BitLinear matmul paths (train.matmul; "auto" picks bf16 on AMX CPUs)."""
    import train
    corpus = str(tmp_path / "corpus")
    tiny_corpus(corpus)
    cfgp = str(tmp_path / "tiny.json")
    cfg = json.loads(json.dumps(TINY_CFG))
    cfg["train"]["matmul"] = matmul
    with open(cfgp, "w") as f:
        json.dump(cfg, f)
    q = {"corpus": corpus, "vocab_size": 300}
    train.train_one(cfgp, str(tmp_path / "a"), **q)                               # 8 steps straight
    train.train_one(cfgp, str(tmp_path / "b"), stop_at_step=3, **q)               # 3 steps ...
    train.train_one(cfgp, str(tmp_path / "b"), **q)                               # ... resumed to 8
    ca = torch.load(str(tmp_path / "a" / "tiny" / "ckpt.pt"))
    cb = torch.load(str(tmp_path / "b" / "tiny" / "ckpt.pt"))
    assert ca["step"] == cb["step"] == 8 and ca["batcher"] == cb["batcher"]
    for k in ca["model"]:
        assert torch.equal(ca["model"][k], cb["model"][k]), k
    logs = [json.loads(line) for line in open(str(tmp_path / "b" / "tiny" / "log.jsonl"))]
    tr = [r for r in logs if r["kind"] == "train"]
    assert [r["step"] for r in tr] == [2, 4, 6, 8] and tr[-1]["loss"] < tr[0]["loss"]
    assert all(r["tok_s"] > 0 for r in tr)
    la = [json.loads(line) for line in open(str(tmp_path / "a" / "tiny" / "log.jsonl"))]
    assert [r["loss"] for r in la if r["kind"] == "train"] == [r["loss"] for r in tr]
    assert [r["val_loss"] for r in la if r["kind"] == "eval"] == [r["val_loss"] for r in logs if r["kind"] == "eval"]
    # the export is an HF-style checkpoint that reloads to the same forward pass
    from compare import load_hf_model
    hf = str(tmp_path / "b" / "tiny" / "hf")
    assert sorted(os.listdir(hf)) == ["README.md", "config.json", "model.safetensors", "tokenizer.json",
                                      "tokenizer_config.json"]
    m = load_hf_model(hf)
    from model import Model
    ref = Model(dict(TINY_CFG["model"], n_vocab=300))
    ref.load_state_dict(cb["model"])
    ref.eval()
    x = torch.tensor([[5, 9, 11, 40, 41]])
    with torch.no_grad():
        assert torch.equal(m(x), ref(x))


@needs_torch
def test_distill_init_and_resume(tmp_path):
    """A student distilled from a trained teacher (train.distill) and one initialized from an export
    (config "init"): resumes exactly, and distillation brings the student's distribution towards the
    teacher's."""
    import train
    from compare import load_hf_model
    corpus = str(tmp_path / "corpus")
    tiny_corpus(corpus)
    q = {"corpus": corpus, "vocab_size": 300}
    cfgp = str(tmp_path / "tiny.json")
    with open(cfgp, "w") as f:
        json.dump(TINY_CFG, f)
    import shutil
    train.train_one(cfgp, str(tmp_path / "a"), **q)                               # the teacher
    shutil.copytree(str(tmp_path / "a" / "tiny" / "hf"), str(tmp_path / "b" / "tiny" / "hf"))
    st = json.loads(json.dumps(TINY_CFG))
    st["name"] = "student"
    st["model"]["n_ff"] = 64
    st["train"].update(max_steps=6, lr=1e-2, eval_every=100)
    st["distill"] = {"teacher": "{out}/tiny/hf", "weight": 0.9, "temperature": 1.0}
    sp = str(tmp_path / "student.json")
    with open(sp, "w") as f:
        json.dump(st, f)
    train.train_one(sp, str(tmp_path / "a"), **q)
    train.train_one(sp, str(tmp_path / "b"), stop_at_step=3, **q)
    train.train_one(sp, str(tmp_path / "b"), **q)
    ca = torch.load(str(tmp_path / "a" / "student" / "ckpt.pt"))
    cb = torch.load(str(tmp_path / "b" / "student" / "ckpt.pt"))
    for k in ca["model"]:
        assert torch.equal(ca["model"][k], cb["model"][k]), k
    # the distillation loss pulls a student towards the teacher (a few Adam steps on one batch)
    teacher = train.load_teacher(str(tmp_path / "a" / "tiny" / "hf"), 300)
    student = load_hf_model(str(tmp_path / "a" / "student" / "hf"))
    student.train()
    import data
    tok, tr, _ = data.prepare(str(tmp_path / "a" / "tokenizer.json"), corpus, cache_dir=str(tmp_path / "a"))
    xb = torch.from_numpy(tr[:4 * 33].astype(np.int64).reshape(4, 33))
    opt = torch.optim.Adam(student.parameters(), lr=3e-3)
    kls = []
    for _ in range(8):
        logits, ce = student(xb[:, :-1], xb[:, 1:])
        loss = train.distill_loss(logits, ce, teacher, xb[:, :-1], {"weight": 1.0, "temperature": 1.0})
        kls.append(float(loss))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert kls[-1] < 0.8 * kls[0], kls
    # init: a run that starts from the student's export has its weights at step 0
    it = json.loads(json.dumps(st))
    it["name"] = "again"
    del it["distill"]
    it["init"] = "{out}/student/hf"
    ip = str(tmp_path / "again.json")
    with open(ip, "w") as f:
        json.dump(it, f)
    train.train_one(ip, str(tmp_path / "a"), stop_at_step=0, **q)
    c0 = torch.load(str(tmp_path / "a" / "again" / "ckpt.pt"))
    for k in ca["model"]:
        assert torch.equal(c0["model"][k], ca["model"][k]), k


# ---- engine vs PyTorch: converted checkpoints of every supported layout -----------------------------

def sharp_random_model(seed, ffn_act="silu"):
    """A random model whose logits are sharp enough for top-1 to mean something (the default init is not)."""
    from model import Model
    torch.manual_seed(seed)
    m = Model({"n_vocab": 320, "n_embd": 256, "n_layer": 2, "n_head": 4, "n_head_kv": 2, "n_ff": 512,
               "n_ctx": 64, "rms_eps": 1e-5, "rope_base": 10000.0, "act_quant": "token", "ffn_act": ffn_act})
    with torch.no_grad():
        m.tok_embd.weight.normal_(0, 0.3)
        for n, p in m.named_parameters():
            if p.dim() == 1:
                p.uniform_(0.5, 1.5)
    return m


def layout_checkpoint(layout, d, tok):
    """Writes a tiny checkpoint in one of the converter's input layouts to directory d:
      trainer  train.export_hf: float32 latent weights, trit_weight_scale fp16
      1bitllm  1bitLLM/bitnet_b1_58-* style: float16 tensors, absmean scale not rounded, lm_head.weight
               (= the embedding) and rotary_emb.inv_freq present
      2b4t     microsoft/bitnet-b1.58-2B-4T style: uint8 packed ternary projections + weight_scale,
               bfloat16 embedding and norms, ReLU^2 FFN, attn_sub_norm / ffn_sub_norm names"""
    import train
    m = sharp_random_model({"trainer": 5, "1bitllm": 6, "2b4t": 7}[layout], "relu2" if layout == "2b4t" else "silu")
    if layout == "trainer":
        train.export_hf(m, tok, d, {"name": "tiny-random", "step": 0, "val_loss": None})
        return
    sd = m.hf_state_dict()
    cfg = m.hf_config(tok.bos_id, tok.eos_id)
    del cfg["trit_weight_scale"], cfg["trit_act_quant"]
    dtypes = {}
    if layout == "1bitllm":
        sd = {k: v.astype(np.float16) for k, v in sd.items()}
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"].copy()
        for i in range(HP["n_layer"]):
            sd["model.layers.%d.self_attn.rotary_emb.inv_freq" % i] = (
                10000.0 ** (-np.arange(0, 64, 2) / 64)).astype(np.float32)
    else:
        rng = np.random.default_rng(8)
        out = {}
        for k, v in sd.items():
            k = k.replace("self_attn.inner_attn_ln", "self_attn.attn_sub_norm").replace(
                "mlp.ffn_layernorm", "mlp.ffn_sub_norm")
            if any(p in k for p in convert.PROJ):                  # ternary codes + 1 / scale, as 2B4T stores
                q, sc = convert.absmean_ternary(v)                 # (a trained model's scale, give or take)
                out[k] = convert.pack_2b4t(q)
                out[k[:-len(".weight")] + ".weight_scale"] = np.array([rng.uniform(0.8, 1.25) / sc], np.float32)
            else:
                out[k] = v
                dtypes[k] = "BF16"
        sd = out
        cfg["hidden_act"] = "relu2"
    write_checkpoint(d, {}, cfg, tok)
    write_safetensors(os.path.join(d, "model.safetensors"), sd, dtypes=dtypes)


@needs_torch
@needs_trit
@pytest.mark.parametrize("layout,outtype,embd,scale_tensors", [
    ("trainer", "tq2_0", "f16", False), ("trainer", "tq1_0", "f16", False), ("trainer", "i2_s", "f16", False),
    ("trainer", "tq2_0", "f16", True), ("trainer", "tq2_0", "q8_0", False),
    ("1bitllm", "tq2_0", "f16", False), ("2b4t", "tq2_0", "f16", False), ("2b4t", "i2_s", "f16", False)])
def test_converted_logits_match_float_model(tmp_path, layout, outtype, embd, scale_tensors):
    """A tiny checkpoint in each supported layout, converted to GGUF: trit's logits (build/trit logits)
    against the PyTorch forward pass of the checkpoint as its format defines it (compare.load_hf_model)."""
    from compare import compare, load_hf_model
    tok = tiny_tokenizer()
    hf = str(tmp_path / "hf")
    layout_checkpoint(layout, hf, tok)
    gguf = str(tmp_path / "m.gguf")
    convert.convert(hf, gguf, outtype=outtype, embd=embd, scale_tensors=scale_tensors, log=lambda s: None)
    arch = gw.read_gguf(gguf).value("general.architecture")
    assert arch == ("bitnet-b1.58" if layout == "2b4t" else "bitnet")
    model = load_hf_model(hf)
    assert model.layers[0].ffn_act == ("relu2" if layout == "2b4t" else "silu")
    seqs = [tok.encode(STORY)[:40], tok.encode(TEXTS[1] + TEXTS[2])[:40]]
    res = compare(model, gguf, seqs, TRIT[0] if len(TRIT) == 1 else TRIT, kv="f16")
    std = res["qat"]["logit_std"]
    assert std > 1.0
    # "emulate" = the same weights with the engine's arithmetic (Q8_K activations, F16 embedding/KV);
    # a Q8_0 embedding adds its own rounding on top
    tol = 0.05 if embd == "q8_0" else 0.02
    assert res["emulate"]["rms"] < tol * std, res
    assert res["emulate"]["top1_agree"] >= 0.95, res
    assert res["qat"]["rms"] < 0.1 * std, res
    assert res["qat"]["top1_agree"] >= 0.9, res
    if layout == "trainer" and not scale_tensors and embd == "f16" and outtype == "tq2_0":
        for t in TEXTS[:3]:                      # and the engine's tokenizer gives the Python ids
            r = subprocess.run(TRIT + ["tokenize", "-m", gguf, "-p", t], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            assert [int(x) for x in r.stdout.split()] == tok.encode(t), t


# ---- loss plot ---------------------------------------------------------------------------------------

def test_loss_plot_png(tmp_path):
    """plot.py writes a valid PNG (signature, IHDR, CRCs, pixel data) with the curves drawn in their colors."""
    import struct
    import zlib
    import plot
    logs = []
    for k, name in enumerate(("a", "b")):
        p = tmp_path / ("%s.jsonl" % name)
        with open(p, "w") as f:
            for s in range(10, 510, 10):
                f.write(json.dumps({"kind": "train", "step": s, "loss": 6.0 - k * 0.3 - s / 200, "tokens": s * 4096}) + "\n")
                if s % 100 == 0:
                    f.write(json.dumps({"kind": "eval", "step": s, "val_loss": 5.8 - s / 200, "tokens": s * 4096}) + "\n")
            f.write(json.dumps({"kind": "session_end", "step": 500}) + "\n")
        logs.append(str(p))
    out = tmp_path / "loss.png"
    assert plot.main(logs + ["--names", "target,draft", "-o", str(out)]) == 0
    b = out.read_bytes()
    assert b[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(b):
        n, = struct.unpack(">I", b[pos:pos + 4])
        tag, data = b[pos + 4:pos + 8], b[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", b[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(tag + data) & 0xFFFFFFFF
        chunks[tag] = data
        pos += 12 + n
    w, h, depth, ctype = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, ctype) == (8, 2) and w > 100 and h > 100
    raw = zlib.decompress(chunks[b"IDAT"])
    assert len(raw) == h * (1 + 3 * w)
    px = np.frombuffer(raw, np.uint8).reshape(h, 1 + 3 * w)[:, 1:].reshape(h, w, 3)
    for c in (plot.COLORS[0], plot.COLORS[2]):                       # both models' val dots are drawn
        assert (px == np.array(c, np.uint8)).all(-1).sum() > 20, c
    assert (px == 0).all(-1).sum() > 500                              # axes and text
