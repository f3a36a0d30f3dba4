#!/usr/bin/python3
"""deepseek2 GGUF files in the OLD layout load and compute exactly.

  check_old_layout.py WHALE_BIN WORK_DIR

GGUF deepseek2 files converted before llama.cpp split MLA's kv_b_proj store it whole, as
blk.N.attn_kv_b.weight ([kv_lora] x [n_head * (qk_nope + v)], head h = its W_UK rows then its
W_UV rows), where newer files carry attn_k_b / attn_v_b instead. Many published DeepSeek-V2 /
V2-Lite GGUFs are of that kind. For the V2-Lite-like and V3-like tiny presets (f32 weights), the
new-layout file from `whale convert` is rewritten here into the old layout (attn_k_b/attn_v_b
dropped, attn_kv_b taken from the HF checkpoint's kv_b_proj), and then:
  - whale's logits on the old file equal the float64 reference within 1e-4 x max|logit|
    (prefill, and --decode with both MLA forms);
  - whale's logits on the old and the new file agree to f32 rounding.
(llama.cpp 3.21.1, the npm build, no longer loads such files: it stops at the missing
attn_k_b tensor, measured on the files written here.)
"""

import os
import struct
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "vs-llamacpp"))
sys.path.insert(0, os.path.join(ROOT, "tools", "ref"))

import gguf_stream  # noqa: E402
from safetensors_io import Checkpoint  # noqa: E402

PY = "/usr/bin/python3"
GEN = os.path.join(ROOT, "tools", "gen", "make_tiny_hf.py")
REFERENCE = os.path.join(ROOT, "tools", "ref", "reference.py")
PRESETS = ["deepseek-v2-lite", "deepseek-v3"]
IDS = [(i * 53 + 7) % 300 for i in range(40)]
TOLERANCE = 1e-4
F32 = 0


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def read_tensors(path):
    """(metadata, [(name, dims fastest-first, ggml type, bytes)]) of a small GGUF file."""
    metadata = gguf_stream.read_metadata(path)
    r = gguf_stream.Reader(path)
    r.f.read(4)
    r.take("<I")
    n_tensors = r.take("<Q")
    n_kv = r.take("<Q")
    for _ in range(n_kv):
        r.string()
        r.value(r.take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.take("<Q") for _ in range(r.take("<I"))]
        infos.append((name, dims, r.take("<I"), r.take("<Q")))
    align = next((v for k, _, v in metadata if k == "general.alignment"), gguf_stream.ALIGN)
    data_start = (r.f.tell() + align - 1) // align * align
    tensors = []
    for name, dims, ggml_type, offset in infos:
        if ggml_type != F32:
            raise SystemExit(f"{name}: expected an f32 file")
        r.f.seek(data_start + offset)
        tensors.append((name, dims, r.f.read(4 * int(np.prod(dims)))))
    return metadata, tensors


def to_old_layout(new_gguf, hf_dir, old_gguf):
    metadata, tensors = read_tensors(new_gguf)
    ckpt = Checkpoint(hf_dir)
    out, replaced = [], 0
    for name, dims, data in tensors:
        if name.endswith(".attn_v_b.weight"):
            continue
        if name.endswith(".attn_k_b.weight"):
            layer = int(name.split(".")[1])
            kv_b = np.asarray(ckpt.read(f"model.layers.{layer}.self_attn.kv_b_proj.weight"),
                              dtype="<f4")
            name, dims, data = name.replace("attn_k_b", "attn_kv_b"), [kv_b.shape[1],
                                                                       kv_b.shape[0]], kv_b.tobytes()
            replaced += 1
        out.append((name, dims, "f32", iter([data])))
    if replaced == 0:
        raise SystemExit(f"{new_gguf}: no attn_k_b tensors to replace")
    gguf_stream.write(old_gguf, metadata, out)
    return replaced


def logits(whale, model, out, *extra):
    run([whale, "logits", "--model", model, "--tokens", ",".join(map(str, IDS)), "--out", out,
         *extra])
    return np.fromfile(out, dtype="<f4").reshape(len(IDS), -1).astype(np.float64)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    whale, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(work, exist_ok=True)
    failures = []

    def expect(label, got, want, tol):
        err = float(np.abs(got - want).max() / np.abs(want).max())
        ok = got.shape == want.shape and err <= tol
        print(f"  {label:44s} max|diff|/max|logit| {err:.1e} (<= {tol:.0e}) "
              f"{'ok' if ok else 'FAIL'}", flush=True)
        if not ok:
            failures.append(label)

    for preset in PRESETS:
        hf = os.path.join(work, preset)
        run([PY, GEN, preset, hf, "--dtype", "f32"])
        new, old = hf + ".new.gguf", hf + ".old.gguf"
        run([whale, "convert", hf, new, "--type", "f32"])
        n = to_old_layout(new, hf, old)
        out = os.path.join(work, f"logits.{os.getpid()}.f32")
        run([PY, REFERENCE, "--model", hf, "--tokens", ",".join(map(str, IDS)), "--out", out])
        ref = np.fromfile(out, dtype="<f4").reshape(len(IDS), -1).astype(np.float64)
        print(f"{preset}: {n} layers rewritten to attn_kv_b")
        old_prefill = logits(whale, old, out)
        expect(f"{preset} old layout prefill", old_prefill, ref, TOLERANCE)
        for form in ("absorbed", "expanded"):
            expect(f"{preset} old layout decode ({form})",
                   logits(whale, old, out, "--decode", "--mla", form), ref, TOLERANCE)
        expect(f"{preset} old vs new layout (whale)", old_prefill, logits(whale, new, out), 1e-5)
        os.remove(out)
    print("check_old_layout: " + ("ok" if not failures else f"{len(failures)} FAILED"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
