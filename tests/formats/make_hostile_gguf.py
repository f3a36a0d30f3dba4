#!/usr/bin/python3
"""Writes the hostile GGUF corpus into tests/data/hostile/gguf/ (committed; regenerate with
/usr/bin/python3 tests/formats/make_hostile_gguf.py). Every file must make `whale info` and
GgufFile::open fail with one clear error line, never crash. Each file is a small valid GGUF
with exactly one thing wrong; the file name says what."""
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "hostile", "gguf")

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)


def s(text):
    b = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return s(key) + struct.pack("<I", vtype) + payload


def tensor(name, dims, ttype, offset, n_dims=None):
    n = len(dims) if n_dims is None else n_dims
    return s(name) + struct.pack("<I", n) + b"".join(struct.pack("<Q", d) for d in dims) + \
        struct.pack("<II", ttype, 0)[:4] + struct.pack("<Q", offset)


def gguf(kvs, tensors, data, version=3, n_kv=None, n_tensors=None, alignment=32, magic=b"GGUF"):
    head = magic + struct.pack("<I", version)
    head += struct.pack("<QQ", len(tensors) if n_tensors is None else n_tensors,
                        len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tensors)
    pad = (-len(body)) % alignment
    return body + b"\0" * pad + data


ARCH = kv("general.architecture", STR, s("llama"))
F32_DATA = struct.pack("<8f", *range(8))


def valid(**over):
    kvs = over.pop("kvs", [ARCH])
    tensors = over.pop("tensors", [tensor("a", [8], 0, 0)])
    data = over.pop("data", F32_DATA)
    return gguf(kvs, tensors, data, **over)


CASES = {
    "empty": b"",
    "short_magic": b"GGU",
    "bad_magic": valid(magic=b"GGML"),
    "version_1": valid(version=1),
    "version_99": valid(version=99),
    "header_truncated": valid()[:20],
    "n_kv_huge": valid(n_kv=1 << 62),
    "n_tensors_huge": valid(n_tensors=1 << 62),
    "n_kv_too_many": valid(n_kv=5),
    "key_length_huge": b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 60),
    "key_empty": valid(kvs=[kv("", U32, struct.pack("<I", 1))]),
    "key_duplicate": valid(kvs=[ARCH, ARCH]),
    "value_type_unknown": valid(kvs=[kv("x", 13, b"\0" * 8)]),
    "value_type_huge": valid(kvs=[kv("x", 0xFFFFFFFF, b"\0" * 8)]),
    "string_length_huge": valid(kvs=[kv("x", STR, struct.pack("<Q", 1 << 40))]),
    "bool_value_2": valid(kvs=[kv("x", BOOL, b"\x02")]),
    "array_count_huge": valid(kvs=[kv("x", ARR, struct.pack("<IQ", U32, 1 << 61))]),
    "array_string_count_huge": valid(kvs=[kv("x", ARR, struct.pack("<IQ", STR, 1 << 40))]),
    "array_elem_type_unknown": valid(kvs=[kv("x", ARR, struct.pack("<IQ", 77, 1) + b"\0" * 8)]),
    "array_nested_too_deep": valid(kvs=[kv("x", ARR, struct.pack("<IQ", ARR, 1) * 40 +
                                          struct.pack("<IQ", U8, 0))]),
    "array_truncated": valid(kvs=[kv("x", ARR, struct.pack("<IQ", U32, 3) + b"\0" * 4)])[:80],
    "alignment_zero": valid(kvs=[ARCH, kv("general.alignment", U32, struct.pack("<I", 0))]),
    "alignment_not_pow2": valid(kvs=[ARCH, kv("general.alignment", U32, struct.pack("<I", 24))],
                                alignment=24),
    "alignment_wrong_type": valid(kvs=[ARCH, kv("general.alignment", STR, s("32"))]),
    "tensor_name_huge": valid(tensors=[s("")[:0] + struct.pack("<Q", 1 << 50)]),
    "tensor_name_empty": valid(tensors=[tensor("", [8], 0, 0)]),
    "tensor_duplicate": valid(tensors=[tensor("a", [8], 0, 0), tensor("a", [8], 0, 32)],
                              data=F32_DATA * 2),
    "n_dims_0": valid(tensors=[tensor("a", [], 0, 0)]),
    "n_dims_5": valid(tensors=[tensor("a", [2, 2, 2, 1, 1], 0, 0)]),
    "dim_zero": valid(tensors=[tensor("a", [8, 0], 0, 0)]),
    "dims_overflow": valid(tensors=[tensor("a", [1 << 32, 1 << 32, 16], 0, 0)]),
    "dims_overflow_int64": valid(tensors=[tensor("a", [1 << 62, 4], 0, 0)]),
    "tensor_type_unknown": valid(tensors=[tensor("a", [8], 99, 0)]),
    "tensor_type_removed_q4_2": valid(tensors=[tensor("a", [8], 4, 0)]),
    "block_size_mismatch": valid(tensors=[tensor("a", [40], 8, 0)], data=b"\0" * 64),
    "offset_misaligned": valid(tensors=[tensor("a", [4], 0, 4)]),
    "offset_beyond_eof": valid(tensors=[tensor("a", [8], 0, 1 << 40)]),
    "offset_overflow": valid(tensors=[tensor("a", [8], 0, (1 << 64) - 32)]),
    "data_past_eof": valid(tensors=[tensor("a", [64], 0, 0)]),
    "tensors_overlap": valid(tensors=[tensor("a", [16], 0, 0), tensor("b", [8], 0, 32)],
                             data=F32_DATA * 2),
    "tensors_same_offset": valid(tensors=[tensor("a", [8], 0, 0), tensor("b", [8], 0, 0)]),
    "tensor_info_truncated": valid()[:-(len(F32_DATA) + 40)],
    "data_section_missing": gguf([ARCH], [tensor("a", [8], 0, 0)], b"")[:-1],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in CASES.items():
        with open(os.path.join(OUT, name + ".gguf"), "wb") as f:
            f.write(data)
    print(f"wrote {len(CASES)} files to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    sys.exit(main())
