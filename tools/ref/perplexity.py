#!/usr/bin/python3
"""Perplexity of a token sequence under the reference model: exp(mean NLL of ids[1:]).

  /usr/bin/python3 tools/ref/perplexity.py --model HF_DIR (--ids 1,2,3 | --tokens-file F)
      [--dtype float64|float32] [--mla expanded|absorbed]

The tokens file holds integer ids separated by commas and/or whitespace. Position i's logits
predict id i+1, so n ids give n-1 predictions (n >= 2).
"""

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from reference import DTYPES, ReferenceError, load_model, parse_ids  # noqa: E402


def mean_nll(logits, ids):
    """Mean negative log-likelihood of ids[1:] given logits[:-1] (computed in float64)."""
    log_probs = torch.log_softmax(logits[:-1].to(torch.float64), dim=-1)
    targets = torch.tensor(ids[1:], dtype=torch.long)
    return -log_probs.gather(1, targets.unsqueeze(1)).mean().item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ids", help="comma-separated token ids")
    source.add_argument("--tokens-file", help="file of token ids")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float64")
    parser.add_argument("--mla", choices=("expanded", "absorbed"), default="expanded")
    args = parser.parse_args(argv)
    try:
        if args.tokens_file is not None:
            try:
                with open(args.tokens_file, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError) as e:
                raise ReferenceError(f"{args.tokens_file}: {e}") from None
        else:
            text = args.ids
        ids = parse_ids(text)
        if len(ids) < 2:
            raise ReferenceError("perplexity needs at least 2 token ids")
        model = load_model(args.model, DTYPES[args.dtype], args.mla)
        nll = mean_nll(model.forward(ids), ids)
    except ReferenceError as e:
        print(f"perplexity: {e}", file=sys.stderr)
        return 1
    print(f"tokens {len(ids)} mean_nll {nll:.10f} perplexity {math.exp(nll):.10f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
