// Attention products over a bf16 KV cache, computed in bf16: scores = Q K^T and out += P V with
// the other operand in bf16 too (queries rounded once by the caller, softmax weights rounded
// inside the value product) and every product summed in f32. Products of two bf16 are exact in f32,
// so the only roundings are the operands' and the sums'. This is how DeepSeek's reference inference
// evaluates MLA (a bf16 latent cache and bf16 einsums), and it is what the vdpbf16ps instruction
// computes at twice the multiply-adds of f32 FMAs on the same CPUs (AVX512-BF16: gemm_bf16_x86.h).
// CPUs without it widen the bf16 values and use gemm_f32.h's kernels on the rounded operand: the
// same products, summed in another order for scores (out += P V is summed in key order by both, so
// its values agree, subnormals apart: the instruction flushes them).
//
// Layouts and strides as gemm_f32.h (b rows in place in the cache, strides in elements).
// Every element's value depends only on its row and key (or column), not on the tile it fell
// in or on how the keys were split into several calls: a paged cache gives a contiguous one's
// result bit for bit.
#pragma once

#include <cstdint>

namespace whale {

// c[m * ldc + n] = alpha * sum_{k < K} a[m * lda + k] * b[n * ldb + k], a already in bf16
// (round_to_bf16): attention rounds its query rows once and reuses them for every run of keys
// (a paged cache's runs are 16 keys; rounding per run cost as much as the product).
void gemm_bf16_abt(int64_t M, int64_t N, int64_t K, const uint16_t* a, int64_t lda,
                   const uint16_t* b, int64_t ldb, float* c, int64_t ldc, float alpha);
// c[m * ldc + n] += sum_{k < K} bf16(a[m * lda + k]) * b[k * ldb + n], summed in k order
void gemm_bf16_ab_acc(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                      const uint16_t* b, int64_t ldb, float* c, int64_t ldc);

// Oracles for the tests: the same values, sums in f64.
void gemm_bf16_abt_reference(int64_t M, int64_t N, int64_t K, const uint16_t* a, int64_t lda,
                             const uint16_t* b, int64_t ldb, float* c, int64_t ldc, float alpha);
void gemm_bf16_ab_acc_reference(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                                const uint16_t* b, int64_t ldb, float* c, int64_t ldc);

// dst[i] = src[i] rounded to bf16 (nearest even; NaN stays NaN): what a bf16 KV cache stores.
void narrow_f32_to_bf16(const float* src, uint16_t* dst, int64_t n);
// The same rounding for operands of the products, vectorized where the bf16 instructions run
// (which flush subnormal inputs to zero).
void round_to_bf16(const float* src, int64_t n, uint16_t* dst);

// True when the products above run on vdpbf16ps (for bench reports and tests).
bool bf16_dot_products();

}  // namespace whale
