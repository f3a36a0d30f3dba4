#!/usr/bin/python3
"""Self-tests of the PyTorch reference forward pass (tools/ref). Plain asserts.

  /usr/bin/python3 tests/ref/test_reference.py

Tiny random checkpoints come from tools/gen/make_tiny_hf.py; the hand cases below use numbers
worked out on paper (or with a calculator), not by calling the code under test.
"""

import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "ref"))

import attention  # noqa: E402
import rope  # noqa: E402
from model import ReferenceError, load_model  # noqa: E402
from model_config import ConfigError, parse_config  # noqa: E402
from moe_routing import RouterSettings, route  # noqa: E402
from safetensors_io import (  # noqa: E402
    E4M3_TABLE,
    Checkpoint,
    CheckpointError,
    dequantize_blocks,
    write_safetensors,
)

PY = "/usr/bin/python3"
GEN = os.path.join(ROOT, "tools", "gen", "make_tiny_hf.py")
REF = os.path.join(ROOT, "tools", "ref", "reference.py")
PPL = os.path.join(ROOT, "tools", "ref", "perplexity.py")
IDS = [5, 17, 3, 99, 250, 7, 7, 1, 300, 42, 8, 12, 0, 64]
F64 = torch.float64


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def close(a, b, tol=1e-12):
    return abs(a - b) <= tol * max(1.0, abs(b))


def make_model(tmp, preset, *flags):
    out = os.path.join(tmp, preset + "".join(flags).replace("-", "_"))
    subprocess.run([PY, GEN, preset, out, *flags], check=True, stdout=subprocess.DEVNULL)
    return out


# ----------------------------------------------------------------------------- hand cases


def test_e4m3_table():
    assert E4M3_TABLE[0x38] == 1.0 and E4M3_TABLE[0xB8] == -1.0
    assert E4M3_TABLE[0x7E] == 448.0 and E4M3_TABLE[0xFE] == -448.0
    assert E4M3_TABLE[0x01] == 2.0**-9  # smallest subnormal
    assert E4M3_TABLE[0x07] == 7 * 2.0**-9 and E4M3_TABLE[0x08] == 2.0**-6
    assert E4M3_TABLE[0x3C] == 1.5 and E4M3_TABLE[0x40] == 2.0
    assert E4M3_TABLE[0x80] == 0.0 and math.copysign(1, E4M3_TABLE[0x80]) == -1
    assert np.isnan(E4M3_TABLE[0x7F]) and np.isnan(E4M3_TABLE[0xFF])
    assert np.isnan(E4M3_TABLE).sum() == 2


def test_block_dequant_partial_edges():
    w = np.ones((130, 260))
    s = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    d = dequantize_blocks(w, s)
    assert d[0, 0] == 1 and d[127, 127] == 1 and d[127, 128] == 2 and d[0, 259] == 3
    assert d[128, 0] == 4 and d[129, 200] == 5 and d[129, 259] == 6
    try:
        dequantize_blocks(w, np.ones((1, 3)))
        raise AssertionError("wrong scale shape accepted")
    except CheckpointError:
        pass


def test_safetensors_roundtrip_and_fp8(tmp):
    d = os.path.join(tmp, "st")
    os.makedirs(d)
    a = np.array([[1.0, -2.5], [3.140625, 0.0]])
    codes = np.array([[0x38, 0x40, 0xB8]] * 2, dtype=np.uint8)
    write_safetensors(os.path.join(d, "model.safetensors"), {
        "a": ("BF16", a), "b": ("F16", a), "c": ("F32", a),
        "q.weight": ("F8_E4M3", codes), "q.weight_scale_inv": ("F32", np.array([[0.5]])),
    })
    ck = Checkpoint(d)
    for name in "abc":
        assert (ck.read(name) == a).all(), name
    assert (ck.read("q.weight") == np.array([[0.5, 1.0, -0.5]] * 2)).all()
    with open(os.path.join(d, "model.safetensors"), "r+b") as f:
        f.truncate(40)
    try:
        Checkpoint(d)
        raise AssertionError("truncated file accepted")
    except CheckpointError:
        pass


def test_rope_deepseek_equals_pair_rotation():
    # inference/model.py rotates interleaved pairs (x[2i], x[2i+1]) as complex numbers by
    # angle pos * inv_freq[i]; HF's reorder + rotate_half must give the same numbers, laid out
    # as [real parts | imaginary parts].
    torch.manual_seed(0)
    x = torch.randn(5, 8, dtype=F64)
    table = rope.RopeTable(rope.default_inv_freq(8, 10000.0, F64))
    cos, sin = table.cos_sin(torch.arange(5))
    got = rope.apply_rope_deepseek(x, cos, sin)
    angle = torch.outer(torch.arange(5, dtype=F64), table.inv_freq)
    z = torch.complex(x[:, 0::2], x[:, 1::2]) * torch.polar(torch.ones_like(angle), angle)
    want = torch.cat((z.real, z.imag), dim=-1)
    assert rel(got, want) < 1e-14


def test_yarn_hand_values():
    # dim 8, base 1e4, factor 40, original 4096: correction dims 1.309 -> floor 1 and
    # 2.814 -> ceil 3, ramp [0, 0, .5, 1]; inv_freq = [1, .1, .5*.01/40 + .5*.01, .001/40].
    low, high = rope.yarn_find_correction_range(32, 1, 8, 10000.0, 4096)
    assert (low, high) == (1, 3)
    table = rope.make_rope_table(8, 10000.0, {
        "type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
        "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 0}, F64, ("yarn",))
    for got, want in zip(table.inv_freq.tolist(), [1.0, 0.1, 0.005125, 0.000025]):
        assert close(got, want), (got, want)
    assert close(table.mscale, 1.3688879454113936)  # 1 + 0.1 * ln 40
    cos, _ = table.cos_sin(torch.tensor([0]))
    assert close(cos[0, 0].item(), 1.3688879454113936)  # cos/sin carry the mscale
    same = rope.make_rope_table(8, 10000.0, {
        "type": "yarn", "factor": 40, "mscale": 0.707, "mscale_all_dim": 0.707}, F64, ("yarn",))
    assert close(same.mscale, 1.0)
    cfg = parse_config(tiny_v3_config())  # qk head dim 24, mscale_all_dim 1, factor 40
    assert close(attention.mla_softmax_scale(cfg), 0.3824988883120412)  # 1.36889^2 / sqrt 24


def test_llama3_hand_values():
    # base 5e5, dim 8: inv_freq [1, .0376, .001414, 5.318e-5], wavelengths [6.3, 167, 4443,
    # 118143]; < 2048 kept, > 8192 divided by 8, 4443 blended with s = (8192/4443 - 1) / 3.
    table = rope.make_rope_table(8, 500000.0, {
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192}, F64, ("llama3",))
    want = [1.0, 0.03760603093086393, 0.0005248461609929547, 6.647869871181235e-06]
    for got, w in zip(table.inv_freq.tolist(), want):
        assert close(got, w), (got, w)


def logit(p):
    return math.log(p / (1 - p))


def test_noaux_tc_bias_changes_selection_not_weights():
    v3 = RouterSettings(8, 2, "sigmoid", "noaux_tc", 4, 2, True, 2.5, scale_after_norm=True)
    scores = [0.9, 0.1, 0.5, 0.45, 0.3, 0.2, 0.6, 0.05]
    logits = torch.tensor([[logit(s) for s in scores]], dtype=F64)
    # No bias: group sums-of-top-2 [1.0, .95, .5, .65] keep groups 0, 1; best are e0, e2.
    idx, w = route(logits, v3, torch.zeros(8, dtype=F64))
    got = dict(zip(idx[0].tolist(), w[0].tolist()))
    assert set(got) == {0, 2}
    assert close(got[0], 2.5 * 0.9 / 1.4) and close(got[2], 2.5 * 0.5 / 1.4)
    # +0.5 on e6: group 3 scores 1.15, groups 3 and 0 kept; e6 (biased 1.1) and e0 chosen,
    # weighted by their UNBIASED scores .6 and .9.
    bias = torch.tensor([0, 0, 0, 0, 0, 0, 0.5, 0], dtype=F64)
    idx, w = route(logits, v3, bias)
    got = dict(zip(idx[0].tolist(), w[0].tolist()))
    assert set(got) == {0, 6}
    assert close(got[6], 2.5 * 0.6 / 1.5) and close(got[0], 2.5 * 0.9 / 1.5)


def test_ties_and_scaling_rules():
    logits = torch.tensor([[1.0, 0.0, 1.0, 0.0]], dtype=F64)  # tie inside the top 2
    p = math.e / (2 * math.e + 2)
    v2 = RouterSettings(4, 2, "softmax", "greedy", routed_scaling_factor=16.0)
    idx, w = route(logits, v2)
    assert sorted(idx[0].tolist()) == [0, 2] and all(close(x, 16 * p) for x in w[0].tolist())
    v2.norm_topk_prob = True  # V2: normalized weights are NOT scaled
    idx, w = route(logits, v2)
    assert all(close(x, 0.5) for x in w[0].tolist())
    v2.scale_after_norm = True  # V3 rule: normalized, then scaled
    idx, w = route(logits, v2)
    assert all(close(x, 8.0) for x in w[0].tolist())
    one = RouterSettings(4, 1, "softmax", "greedy", norm_topk_prob=True, routed_scaling_factor=3)
    idx, w = route(logits, one)  # top_k 1: never normalized, so scaled even under V2 rule
    assert idx[0, 0].item() in (0, 2) and close(w[0, 0].item(), 3 * p)  # boundary tie


def test_group_limited_greedy():
    # Group score = best expert (not the sum): groups 1 and 3 win with maxima 2.5 and 2.2
    # although group 0 [2.0, 1.9] has the larger total.
    logits = torch.tensor([[2.0, 1.9, 2.5, -5.0, 0.0, 0.0, 2.2, -5.0]], dtype=F64)
    z = sum(math.exp(x) for x in logits[0].tolist())
    v2 = RouterSettings(8, 2, "softmax", "group_limited_greedy", 4, 2, False, 16.0)
    idx, w = route(logits, v2)
    got = dict(zip(idx[0].tolist(), w[0].tolist()))
    assert set(got) == {2, 6}
    assert close(got[2], 16 * math.exp(2.5) / z) and close(got[6], 16 * math.exp(2.2) / z)


class StubWeights:
    def __init__(self, tensors):
        self.t = {k: torch.as_tensor(v, dtype=F64) for k, v in tensors.items()}

    def __contains__(self, name):
        return name in self.t

    def get(self, name):
        return self.t[name]

    def linear(self, x, prefix):
        y = x @ self.t[prefix + ".weight"].t()
        return y + self.t[prefix + ".bias"] if prefix + ".bias" in self.t else y


def test_mla_one_hot_attention():
    # One head, nope 4, rope 2 (zeroed), v 4, latent 4. Tokens are basis vectors e_j, so the
    # normalized latent is ~2 e_j; q_nope = 50 * 2 e_{j-1}: each query looks for the previous
    # basis vector. Positions 1..3 attend (almost) only to position j-1; position 0 wants
    # e_3, which lies in the future, so the causal mask leaves it only itself.
    eye = torch.eye(4, dtype=F64)
    shift = torch.roll(eye, -1, dims=0) * 50  # row i picks input i+1: query e_j -> e_{j-1}
    cfg = parse_config(tiny_v3_config(q_lora_rank=0, heads=1, rank=4, nope=4, rope=2, v=4, h=4))
    cfg.rms_norm_eps = 0.5  # must not be used by the latent norm
    w = StubWeights({
        "q_proj.weight": torch.cat((shift, torch.zeros(2, 4, dtype=F64))),
        "kv_a_proj_with_mqa.weight": torch.cat((eye, torch.zeros(2, 4, dtype=F64))),
        "kv_a_layernorm.weight": torch.ones(4), "kv_b_proj.weight": torch.cat((eye, eye)),
        "o_proj.weight": eye,
    })
    table = rope.RopeTable(rope.default_inv_freq(2, 10000.0, F64))
    # The latent norm uses eps 1e-6 (not rms_norm_eps): e_j * (1/4 + 1e-6)^-1/2.
    want = (0.25 + 1e-6) ** -0.5 * eye[[0, 0, 1, 2]]
    for form in ("expanded", "absorbed"):
        mla = attention.MlaAttention(w, "", cfg, table, form)
        out = mla(eye, 0, {})
        assert (out - want).abs().max().item() < 1e-15, (form, out)


def test_gqa_uniform_attention_and_head_mapping():
    # q = 0 makes every score 0: position i averages v over positions 0..i. 4 query heads share
    # 2 kv heads: heads 0,1 read kv head 0, heads 2,3 read kv head 1 (HF repeat_kv).
    cfg = parse_config({"architectures": ["Qwen2ForCausalLM"], "vocab_size": 8,
                        "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4,
                        "num_key_value_heads": 2, "intermediate_size": 8})
    x = torch.arange(24, dtype=F64).view(3, 8)
    w = StubWeights({
        "q_proj.weight": torch.zeros(8, 8), "k_proj.weight": torch.eye(4, 8),
        "v_proj.weight": torch.eye(4, 8), "v_proj.bias": torch.tensor([0, 0, 100, 100.0]),
        "o_proj.weight": torch.eye(8),
    })
    table = rope.RopeTable(rope.default_inv_freq(2, 10000.0, F64))
    out = attention.GqaAttention(w, "", cfg, table)(x, 0, {})
    v = x[:, :4] + torch.tensor([0, 0, 100, 100.0], dtype=F64)
    for i in range(3):
        mean = v[: i + 1].mean(0)
        want = torch.cat((mean[:2], mean[:2], mean[2:], mean[2:]))
        assert rel(out[i], want) < 1e-15, (i, out[i], want)


def tiny_v3_config(q_lora_rank=48, heads=4, rank=32, nope=16, rope=8, v=16, h=64):
    return {
        "architectures": ["DeepseekV3ForCausalLM"], "vocab_size": 16, "hidden_size": h,
        "num_hidden_layers": 1, "num_attention_heads": heads, "intermediate_size": 32,
        "q_lora_rank": q_lora_rank, "kv_lora_rank": rank, "qk_nope_head_dim": nope,
        "qk_rope_head_dim": rope, "v_head_dim": v,
        "rope_scaling": {"type": "yarn", "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
                         "original_max_position_embeddings": 4096},
    }


def test_config_errors():
    for bad in ({}, {"architectures": ["GPT2LMHeadModel"]},
                dict(tiny_v3_config(), hidden_size="x"),
                dict(tiny_v3_config(), n_routed_experts=8, num_experts_per_tok=9,
                     moe_intermediate_size=4)):
        try:
            parse_config(bad)
            raise AssertionError(f"accepted {bad}")
        except ConfigError:
            pass


# ----------------------------------------------------------------------------- tiny models


def test_tiny_models(tmp):
    dirs = {
        "v2-lite": make_model(tmp, "deepseek-v2-lite"),
        "v3": make_model(tmp, "deepseek-v3"),
        "v3-fp8-mtp-sharded": make_model(tmp, "deepseek-v3", "--fp8", "--mtp", "--shards",
                                         "3", "--hidden", "160"),
        "qwen2": make_model(tmp, "qwen2"),
        "qwen2-tied-f32": make_model(tmp, "qwen2", "--tie", "--dtype", "f32"),
        "llama": make_model(tmp, "llama"),
    }
    for name, d in dirs.items():
        model = load_model(d)
        logits = model.forward(IDS)
        assert logits.shape == (len(IDS), model.cfg.vocab_size) and torch.isfinite(logits).all()
        assert logits.std().item() > 1e-3, name  # not degenerate
        assert rel(model.decode(IDS), logits) < 1e-12, name
        assert rel(model.forward(IDS[:5]), logits[:5]) < 1e-12, name  # causal
        # The cache is really used: position 3 differs from a forward of that token alone.
        assert rel(model.forward(IDS[3:4])[0], logits[3]) > 1e-3, name
        if model.cfg.is_deepseek:
            absorbed = load_model(d, mla="absorbed")
            assert rel(absorbed.forward(IDS), logits) < 1e-10, name
            assert rel(absorbed.decode(IDS), logits) < 1e-10, name
        if "mtp" in name:
            n = model.cfg.num_layers
            assert not [k for k in model.w.names_read if k.startswith(f"model.layers.{n}.")]
            assert any(k.startswith(f"model.layers.{n}.") for k in model.w.ckpt.names())
        if name == "v3":
            check_moe_against_dense_sum(model)
    return dirs


def check_moe_against_dense_sum(model):
    # Every expert on every token, combined with a dense gate vector, must equal the sparse
    # dispatch; and bias-free V3 weights must equal the normalized sigmoid of the chosen logits.
    layer = model.cfg.moe_layers[0]
    _, _, moe = model.layers[layer]
    x = torch.randn(6, model.cfg.hidden_size, dtype=F64)
    idx, w = moe.route(x)
    dense = torch.zeros(6, model.cfg.router.n_routed_experts, dtype=F64)
    dense.scatter_(1, idx, w)
    from feed_forward import silu_mlp

    want = silu_mlp(model.w, moe.p + "shared_experts.", x)
    for e in range(model.cfg.router.n_routed_experts):
        want = want + dense[:, e : e + 1] * silu_mlp(model.w, f"{moe.p}experts.{e}.", x)
    assert rel(moe(x), want) < 1e-13
    assert all(close(s, model.cfg.router.routed_scaling_factor) for s in w.sum(1).tolist())


def test_cli(tmp, dirs):
    out = os.path.join(tmp, "logits.f32")
    ids = ",".join(map(str, IDS[:6]))
    r = subprocess.run([PY, REF, "--model", dirs["v3"], "--tokens", ids, "--out", out,
                        "--mla", "absorbed", "--decode", "--no-weight-cache"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    model = load_model(dirs["v3"])
    got = np.fromfile(out, dtype="<f4").reshape(6, model.cfg.vocab_size)
    want = model.forward(IDS[:6]).numpy().astype(np.float32)
    assert np.array_equal(got, want) or np.abs(got - want).max() < 1e-6
    r = subprocess.run([PY, PPL, "--model", dirs["llama"], "--ids", ids],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ppl = float(r.stdout.split()[-1])
    logp = torch.log_softmax(load_model(dirs["llama"]).forward(IDS[:6]), -1)
    nll = -sum(logp[i, IDS[i + 1]].item() for i in range(5)) / 5
    assert close(ppl, math.exp(nll), 1e-9), (ppl, math.exp(nll))
    # Bad input: one line on stderr, exit status 1, no traceback.
    for bad in (["--model", tmp], ["--model", dirs["v3"], "--tokens", "1,x"],
                ["--model", dirs["v3"], "--tokens", "999999"]):
        r = subprocess.run([PY, REF, *bad, "--out", out] + ([] if "--tokens" in bad else
                           ["--tokens", "1"]), capture_output=True, text=True)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.startswith("reference: ") and r.stderr.count("\n") == 1, r.stderr


def test_missing_tensor_is_clear(tmp, dirs):
    d = os.path.join(tmp, "broken")
    os.makedirs(d)
    src = Checkpoint(dirs["qwen2"])
    tensors = {n: ("F32", src.read(n)) for n in src.names() if "layers.0.mlp.up_proj" not in n}
    write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    with open(os.path.join(dirs["qwen2"], "config.json")) as f, \
            open(os.path.join(d, "config.json"), "w") as g:
        g.write(f.read())
    try:
        load_model(d)
        raise AssertionError("missing tensor accepted")
    except ReferenceError as e:
        assert "model.layers.0.mlp.up_proj.weight" in str(e)


def main():
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in list(globals().items()):
            if name.startswith("test_") and fn.__code__.co_argcount == 0:
                fn()
                print("ok", name)
        test_safetensors_roundtrip_and_fp8(tmp)
        print("ok test_safetensors_roundtrip_and_fp8")
        dirs = test_tiny_models(tmp)
        print("ok test_tiny_models")
        test_cli(tmp, dirs)
        print("ok test_cli")
        test_missing_tensor_is_clear(tmp, dirs)
        print("ok test_missing_tensor_is_clear")
    print(f"all passed in {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
