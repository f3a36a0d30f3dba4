// The SIMD inner loops of the kernels layer, compiled once per CPU target by Google Highway and
// selected at run time (HWY_DYNAMIC_DISPATCH): one binary runs the AVX-512, AVX2, SSE4 or
// portable (EMU128) version, whichever the CPU supports best. Internal to src/kernels: the rest
// of whale calls kernels.h.
//
// Quantized weights meet activations quantized to 8 bits per block of 32 (the published Q8_0
// scheme: d = max|x| / 127, q = round(x / d)), so the inner product of a weight block and an
// activation block is an INTEGER dot product; one float multiply-add per block (or per 16
// elements for Q6_K's 16-element scales) applies the scales. Types with per-block minimums (Q4_K)
// use the activation block's sum: sum_i (s q_i - m) x_i = s d_x sum q_i qx_i - m d_x sum qx_i.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/types.h"

namespace whale::simd {

// Activation rows quantized to 8 bits per 32-block. For row t and block b:
//   x[t][32 b + i] ~= d[t * blocks + b] * q[t * cols + 32 b + i]
//   sum[t * blocks + b] = d * sum_i q  (for the minimum terms)
//   packed: the same values rearranged for the target's integer instructions (AVX-512 VNNI:
//   block halves interleaved, per-lane sums and scales; simd_vnni-inl.h), packed_stride bytes
//   per row; null on targets without such a layout.
struct Q8Rows {
  const int8_t* q = nullptr;
  const float* d = nullptr;
  const float* sum = nullptr;
  int64_t cols = 0;  // a multiple of 32
  const uint8_t* packed = nullptr;
  int64_t packed_stride = 0;
  // The lane layouts of many-token products (AVX-512 VNNI: simd_vnni_lanes-inl.h, chunks of 16
  // lanes; AVX2 and AVX-512 without VNNI: simd_x86_lanes-inl.h, chunks of 8), one int32 lane per
  // 32-element block (block_lanes) or per 16-element half (half_lanes: Q6_K); null when not
  // made. A kernel uses them when present and falls back to packed, then to q, otherwise.
  const uint8_t* block_lanes = nullptr;
  const uint8_t* half_lanes = nullptr;
  int64_t blocks() const { return cols / 32; }
};

// Quantizes n_rows rows of `cols` (a multiple of 32) floats; q holds n_rows * cols, d and sum
// n_rows * cols / 32 values. When packed is not null it receives q8_packed_bytes(n_rows, cols)
// bytes of the target's packed layout (call it only when that size is not 0).
void quantize_q8(const float* x, int64_t n_rows, int64_t cols, int8_t* q, float* d, float* sum,
                 uint8_t* packed = nullptr);

// Bytes of the packed layout for n_rows rows on the CPU's target; 0 when it has none.
size_t q8_packed_bytes(int64_t n_rows, int64_t cols);

// Products of at least this many tokens use the lane layouts where the target has them (their
// weight rearrangement pays off from about 12 tokens on: 1.5B Q4_0 and Q4_K_M, 2 threads,
// batched decode of 8 / 12 / 16 sequences: 67-72 / 72 / 81 tok/s with the register tiles,
// 60 / 74 / 91 with the lanes).
constexpr int64_t kLaneMinTokens = 16;

// Bytes of a lane layout (lane_elems 32: block_lanes, 16: half_lanes) for n_rows rows on the
// CPU's target; 0 when it has none. pack_q8_lanes fills it from quantize_q8's q, d and sum.
size_t q8_lane_bytes(int64_t n_rows, int64_t cols, int lane_elems);
void pack_q8_lanes(const Q8Rows& x, int64_t n_rows, int lane_elems, uint8_t* out);

// The lane layout a weight type's many-token kernel reads: 32, 16, or 0 (none).
int lane_elems_of(TensorType type);

// True for the weight types with an integer kernel: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K,
// Q6_K.
bool has_q8_kernel(TensorType type);

// True for the types multiplied directly with f32 activations: F32, F16, BF16.
bool has_float_kernel(TensorType type);

// A range of weight rows: rows [row_begin, row_end) of a matrix whose row r starts at
// data + r * row_stride and holds `cols` elements of `type`.
struct RowRange {
  TensorType type = TensorType::F32;
  const uint8_t* data = nullptr;
  size_t row_stride = 0;
  int64_t cols = 0;
  int64_t row_begin = 0, row_end = 0;
};

// y[t * y_stride + r] = W[r] . x[t] for r in the range and t < n_tok.
// matvec_q8: has_q8_kernel(type), x quantized by quantize_q8 with cols == w.cols.
// matvec_float: has_float_kernel(type), x is n_tok rows of w.cols floats.
void matvec_q8(const RowRange& w, const Q8Rows& x, int64_t n_tok, float* y, int64_t y_stride);
void matvec_float(const RowRange& w, const float* x, int64_t n_tok, float* y, int64_t y_stride);

// f32 helpers (f32 accumulation in SIMD lanes).
float dot(const float* a, const float* b, int64_t n);
void axpy(float a, const float* x, float* y, int64_t n);  // y += a * x
void silu_mul(float* gate, const float* up, int64_t n);   // gate = silu(gate) * up

// Keeps the dispatcher from picking any target better than `name` (a Highway target name, as
// active_target_name() spells it). False, with nothing changed, when no compiled target has
// that name. Call before the first kernel runs.
bool cap_target(const char* name);
std::string compiled_target_names();  // space-separated, best first

// Name of the Highway target the dispatcher picks on this CPU ("AVX3", "AVX2", ...).
const char* active_target_name();

}  // namespace whale::simd
