#!/usr/bin/python3
"""Independent PyTorch reference forward pass for whale's supported model families.

  /usr/bin/python3 tools/ref/reference.py --model HF_DIR --tokens 1,2,3 --out F.f32 \
      [--dtype float64|float32] [--mla expanded|absorbed] [--decode] [--no-weight-cache]

writes the logits of every position as little-endian float32, shape [n_tokens x vocab].
Python API (tools/ref on sys.path): `from reference import load_model`;
`load_model(dir, dtype=torch.float64, mla="expanded").forward(ids)` -> logits tensor.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from model import Model, ReferenceError, load_model  # noqa: E402

__all__ = ["Model", "ReferenceError", "load_model", "parse_ids", "DTYPES"]

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def parse_ids(text):
    """'1,2,3' or '1 2 3' (any mix of commas and whitespace) -> [1, 2, 3]."""
    parts = text.replace(",", " ").split()
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise ReferenceError(f"token ids must be integers: {text[:60]!r}") from None


def write_f32(path, logits):
    data = logits.detach().to(torch.float64).numpy().astype("<f4")
    try:
        with open(path, "wb") as f:
            f.write(data.tobytes())
    except OSError as e:
        raise ReferenceError(f"{path}: {e}") from None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--model", required=True, help="Hugging Face model directory")
    parser.add_argument("--tokens", required=True, help="comma-separated token ids")
    parser.add_argument("--out", required=True, help="output file (f32 LE, [n x vocab])")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float64")
    parser.add_argument("--mla", choices=("expanded", "absorbed"), default="expanded")
    parser.add_argument("--decode", action="store_true",
                        help="feed tokens one at a time through the KV cache")
    parser.add_argument("--no-weight-cache", action="store_true",
                        help="re-read weights on every use (for models too big for RAM)")
    args = parser.parse_args(argv)
    try:
        model = load_model(args.model, DTYPES[args.dtype], args.mla, not args.no_weight_cache)
        ids = parse_ids(args.tokens)
        logits = model.decode(ids) if args.decode else model.forward(ids)
        write_f32(args.out, logits)
    except ReferenceError as e:
        print(f"reference: {e}", file=sys.stderr)
        return 1
    print(f"reference: wrote {logits.shape[0]} x {logits.shape[1]} logits to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
