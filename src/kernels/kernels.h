// The math kernels of the forward pass.
//
// Kernels never see a model: they take views of weights (zero copy, pointing into the mmap) and
// plain f32 activation buffers. Two versions of the products exist (STYLE.md 5, 10):
//   - *_reference: scalar, f64 accumulation, dequantize-then-multiply. They define the result
//     and are the oracle every fast kernel is tested against (tests/kernels).
//   - matmul / matmul_transposed / dot_f32 / axpy: SIMD kernels chosen at run time for the CPU
//     (Highway dynamic dispatch, kernels/simd_kernels.h), f32 accumulation, and for Q8_0, Q4_0,
//     Q5_0, Q4_K and Q6_K weights integer dot products against activations quantized to 8 bits
//     per 32-block (the Q8_0 scheme llama.cpp also uses), so their results differ from the
//     reference by the activation rounding (bounded in the tests) plus f32 rounding.
//
// Layouts: activations are row-major [n_tok x width]; a weight matrix is `rows` rows of `cols`
// elements each (the PyTorch [out, in] convention: y = W x computes `rows` outputs).
// Dot products accumulate in f64 so that the reference is limited by the weights' precision, not
// by the summation order (the f64 golden reference then agrees to ~1e-6 relative).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "platform/result.h"
#include "quant/types.h"

namespace whale {

class ThreadPool;

// A 2-D weight matrix inside a tensor's bytes. Row r starts at data + r * row_stride_bytes and
// holds `cols` elements of `type` (a whole number of the type's blocks).
struct MatrixView {
  TensorType type = TensorType::F32;
  const uint8_t* data = nullptr;
  int64_t rows = 0, cols = 0;
  size_t row_stride_bytes = 0;

  // Rows [first, first + count) as a matrix of their own (expert / head slices).
  MatrixView row_slice(int64_t first, int64_t count) const;
};

// A view over `rows` x `cols` elements of `type` stored densely from `data`, or an Error when the
// type has no dequantizer or cols is not a whole number of blocks.
Result<MatrixView> make_matrix_view(TensorType type, const void* data, int64_t rows, int64_t cols);

// Row r of W as f32 (embedding lookup).
void matrix_row(const MatrixView& w, int64_t r, float* out);

// y[t][r] = sum_c W[r][c] * x[t][c] for t < n_tok.  x: [n_tok x W.cols], y: [n_tok x W.rows].
// The fast version splits the rows across `pool`'s threads (inline when pool is null or when
// called from inside one of its bodies) and reads each weight row once per call whatever n_tok
// is (prefill: rows in small groups that every token passes over while they sit in L1).
void matmul(const MatrixView& w, const float* x, int64_t n_tok, float* y,
            ThreadPool* pool = nullptr);
void matmul_reference(const MatrixView& w, const float* x, int64_t n_tok, float* y);

// Several products of the same input (q/k/v, gate/up): y_i = W_i x for each part, with the
// activations quantized once and all rows in one parallel region (one wake-up instead of one
// per matrix). The matrices must have the same number of columns.
struct MatmulPart {
  const MatrixView* w;
  float* y;  // [n_tok x w->rows]
};
void matmul_shared_input(std::span<const MatmulPart> parts, const float* x, int64_t n_tok,
                         ThreadPool* pool = nullptr);

// y[t][c] = sum_r x[t][r] * W[r][c]: the transposed product, for a weight stored the other way
// (MLA absorption with HF's kv_b_proj).  x: [n_tok x W.rows], y: [n_tok x W.cols].
// The fast version accumulates dequantized rows in f32 (no activation quantization).
void matmul_transposed(const MatrixView& w, const float* x, int64_t n_tok, float* y);
void matmul_transposed_reference(const MatrixView& w, const float* x, int64_t n_tok, float* y);

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i], for each of n_tok rows of `width`.
// In place is allowed (out == x).
void rms_norm(const float* x, const float* weight, int64_t n_tok, int64_t width, double eps,
              float* out);

// In-place softmax of n values (max-subtracted, f64 sum): the reference.
void softmax(float* x, int64_t n);
// The same in f32 SIMD lanes (vector exp, ~1 ulp): attention's scores over the whole context.
void softmax_f32(float* x, int64_t n);

// gate[i] = silu(gate[i]) * up[i] for n values (SwiGLU), in f32 SIMD lanes (vector exp).
void silu_mul(float* gate, const float* up, int64_t n);

// y[i] += x[i] for n values.
void add(float* y, const float* x, int64_t n);

// dot product in f64 (reference).
double dot(const float* a, const float* b, int64_t n);

// SIMD dot product accumulated in f32 lanes; y += a * x.
float dot_f32(const float* a, const float* b, int64_t n);
void axpy(float a, const float* x, float* y, int64_t n);

// The SIMD target the fast kernels run on this CPU ("AVX3", "AVX2", "SSE4", "EMU128", ...).
const char* kernel_target_name();

// Caps the kernels at the target called `name` (one of compiled_kernel_targets()): a CPU with
// better ones runs the code a lesser CPU would (the WHALE_SIMD environment variable; for
// measuring and debugging). False, with nothing changed, for an unknown name. Must be called
// before the first kernel runs.
bool cap_kernel_target(const char* name);
std::string compiled_kernel_targets();  // space-separated, best first

// Rotary embedding conventions. Both rotate pairs by angle pos * inv_freq[i]:
//   kPair: pairs (x[2i], x[2i+1])    GGUF llama/deepseek2 (ggml's NORM), DeepSeek's reference
//   kHalf: pairs (x[i], x[i + d/2])  HF llama/qwen2 rotate_half (ggml's NEOX)
enum class RopeStyle { kPair, kHalf };

// Rotates the first `rope_dim` values of each of n_heads vectors spaced `head_stride` apart.
// cos_t/sin_t hold rope_dim / 2 values (already multiplied by any attention mscale).
void apply_rope(float* x, int64_t n_heads, int64_t head_stride, int64_t rope_dim,
                const float* cos_t, const float* sin_t, RopeStyle style);

}  // namespace whale
