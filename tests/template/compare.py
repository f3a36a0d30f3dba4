#!/usr/bin/python3
"""Renders every committed conversation (tests/data/templates/convos/*.json) with every
committed chat template, with and without the generation prompt, through Python jinja2 set up
as transformers does and through `whale template`, and requires byte-identical output (or an
error from both). Usage: compare.py WHALE_BIN [SOURCE_DIR]"""
import glob
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_reference  # noqa: E402

DS = {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"}
# (name, template file, special tokens as tokenizer_config.json stores them)
TEMPLATES = [
    ("deepseek-v3", "deepseek-v3.jinja",
     {"bos_token": {"__type": "AddedToken", "content": DS["bos_token"]}, "eos_token": {"__type": "AddedToken", "content": DS["eos_token"]}}),
    ("deepseek-r1", "deepseek-r1.jinja", DS),
    ("r1-distill-qwen", "deepseek-r1.jinja", dict(DS, pad_token=DS["eos_token"])),
    ("r1-distill-llama", "deepseek-r1.jinja", dict(DS, pad_token=DS["eos_token"])),
    ("qwen3", "qwen3.jinja", {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}),
    ("llama-3.1", "llama-3.1.jinja", {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}),
    ("llama-3", "llama-3-lenml.jinja", {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}),
]


def token_text(t):
    return t["content"] if isinstance(t, dict) else t


def main():
    whale = sys.argv[1]
    src = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.dirname(HERE))
    tdir = os.path.join(src, "tests", "data", "templates")
    convos = sorted(glob.glob(os.path.join(tdir, "convos", "*.json")))
    total = failures = both_error = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, fname, tokens in TEMPLATES:
            template = open(os.path.join(tdir, fname), encoding="utf-8").read()
            model = os.path.join(tmp, name)
            os.makedirs(model)
            cfg = dict(tokens, chat_template=template, tokenizer_class="PreTrainedTokenizerFast")
            with open(os.path.join(model, "tokenizer_config.json"), "w", encoding="utf-8") as f:
                json.dump(cfg, f, ensure_ascii=False)
            special = {k: token_text(v) for k, v in tokens.items() if v is not None}
            for path in convos:
                data = json.load(open(path, encoding="utf-8"))
                if isinstance(data, list):
                    data = {"messages": data}
                extra = {k: v for k, v in data.items() if k not in ("messages", "tools")}
                for gen in (False, True):
                    total += 1
                    try:
                        want = hf_reference.render(template, data["messages"], data.get("tools"), gen, special, **extra)
                    except hf_reference.TemplateError as e:
                        want, why = None, str(e)
                    cmd = [whale, "template", "--model", model, "--messages", path] + (["--generation-prompt"] if gen else [])
                    r = subprocess.run(cmd, capture_output=True, timeout=60)
                    label = f"{name} {os.path.basename(path)} gen={gen}"
                    if want is None:
                        if r.returncode == 1 and r.stderr.decode().startswith("whale: template error"):
                            both_error += 1
                            continue
                        failures += 1
                        print(f"FAIL {label}: python raised ({why}) but whale rc={r.returncode} out={r.stdout[:200]!r} err={r.stderr[:200]!r}")
                        continue
                    got = r.stdout.decode("utf-8", "replace")
                    if r.returncode != 0 or got != want:
                        failures += 1
                        print(f"FAIL {label}: rc={r.returncode} err={r.stderr.decode()[:300]}")
                        at = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
                        print(f"  first difference at char {at}:\n  want ...{want[max(0, at - 60):at + 80]!r}\n  got  ...{got[max(0, at - 60):at + 80]!r}")
    print(f"{total} renders, {total - failures} match ({both_error} are errors in both), {failures} differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
