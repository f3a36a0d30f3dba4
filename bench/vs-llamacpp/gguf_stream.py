"""Minimal GGUF v3 metadata reader and streaming writer (numpy only, Debian /usr/bin/python3).

The layout is the public GGUF spec: magic "GGUF", u32 version, u64 tensor count, u64 key/value
count, the key/value pairs, the tensor infos (name, n_dims, dims fastest-first, u32 type,
u64 offset into the data section), padding to the alignment, then the tensor data with every
tensor aligned. The writer takes each tensor's bytes from a generator of chunks, so a model
larger than memory is written without ever being held whole.
"""
import struct

ALIGN = 32

# value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
_SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
           BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}

# tensor types: (ggml id, elements per block, bytes per block)
TYPES = {"f32": (0, 1, 4), "f16": (1, 1, 2), "q4_0": (2, 32, 18), "q5_0": (6, 32, 22),
         "q5_1": (7, 32, 24), "q8_0": (8, 32, 34), "q4_k": (12, 256, 144),
         "q5_k": (13, 256, 176), "q6_k": (14, 256, 210), "q2_k": (10, 256, 84),
         "q3_k": (11, 256, 110), "iq4_nl": (20, 32, 18)}


class Reader:
    def __init__(self, path):
        self.f = open(path, "rb")

    def take(self, fmt):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.f.read(size))[0]

    def string(self):
        return self.f.read(self.take("<Q")).decode("utf-8")

    def value(self, vtype):
        if vtype == STR:
            return self.string()
        if vtype == ARR:
            etype = self.take("<I")
            return (etype, [self.value(etype) for _ in range(self.take("<Q"))])
        return self.take(_SCALAR[vtype])


def read_metadata(path):
    """[(key, type, value)] of a GGUF file (arrays as (element type, list))."""
    r = Reader(path)
    if r.f.read(4) != b"GGUF":
        raise SystemExit(f"{path}: not a GGUF file")
    r.take("<I")
    r.take("<Q")
    n_kv = r.take("<Q")
    out = []
    for _ in range(n_kv):
        key = r.string()
        vtype = r.take("<I")
        out.append((key, vtype, r.value(vtype)))
    return out


def _pack_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _pack_value(vtype, v):
    if vtype == STR:
        return _pack_string(v)
    if vtype == ARR:
        etype, items = v
        body = b"".join(_pack_value(etype, x) for x in items)
        return struct.pack("<IQ", etype, len(items)) + body
    return struct.pack(_SCALAR[vtype], v)


def tensor_bytes(type_name, shape):
    _, block, size = TYPES[type_name]
    n = 1
    for d in shape:
        n *= d
    if shape[0] % block:
        raise SystemExit(f"row of {shape[0]} is not a whole number of {type_name} blocks")
    return n // block * size


def write(path, metadata, tensors):
    """metadata: [(key, type, value)]; tensors: [(name, shape fastest-first, type name,
    chunk generator)]; each generator yields bytes adding up to exactly tensor_bytes()."""
    with open(path, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)))
        for key, vtype, v in metadata:
            f.write(_pack_string(key) + struct.pack("<I", vtype) + _pack_value(vtype, v))
        offset = 0
        for name, shape, tname, _ in tensors:
            f.write(_pack_string(name) + struct.pack("<I", len(shape)))
            f.write(struct.pack(f"<{len(shape)}Q", *shape))
            f.write(struct.pack("<IQ", TYPES[tname][0], offset))
            offset += (tensor_bytes(tname, shape) + ALIGN - 1) // ALIGN * ALIGN
        f.write(bytes((-f.tell()) % ALIGN))
        for name, shape, tname, chunks in tensors:
            want, wrote = tensor_bytes(tname, shape), 0
            for c in chunks:
                f.write(c)
                wrote += len(c)
            if wrote != want:
                raise SystemExit(f"{name}: generated {wrote} bytes, expected {want}")
            f.write(bytes((-wrote) % ALIGN))
