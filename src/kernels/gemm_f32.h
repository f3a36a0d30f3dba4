// Dense f32 matrix products for attention: scores = Q K^T and out += P V over a run of cached
// keys. Activations and the KV cache are f32, so these are plain register-blocked products
// (several query rows x several keys per tile: each key row loaded once per tile instead of
// once per head, which is what per-head dot products did). SIMD per CPU through Highway's
// dynamic dispatch, like the rest of the kernels layer; the *_reference versions (f64
// accumulation) are the oracle of tests/kernels/gemm_f32_test.cpp.
//
// Strides are in floats, so a run of cache rows (each row one token's [k | v] or MLA's
// [latent | k_pe]) is read in place: b = the run's first row (+ offset), ldb = floats per row.
#pragma once

#include <cstdint>

namespace whale {

// c[m * ldc + n] = alpha * sum_{k < K} a[m * lda + k] * b[n * ldb + k]   for m < M, n < N.
void gemm_f32_abt(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float* c, int64_t ldc, float alpha);
void gemm_f32_abt_reference(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                            const float* b, int64_t ldb, float* c, int64_t ldc, float alpha);

// c[m * ldc + n] += sum_{k < K} a[m * lda + k] * b[k * ldb + n]   for m < M, n < N.
void gemm_f32_ab_acc(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b,
                     int64_t ldb, float* c, int64_t ldc);
void gemm_f32_ab_acc_reference(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                               const float* b, int64_t ldb, float* c, int64_t ldc);

// The same two products with b in f16 (an f16 KV cache), each element widened on load. An
// element's value does not depend on the tile it falls in, as for the f32 forms.
void gemm_f32_abt_f16(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                      const uint16_t* b, int64_t ldb, float* c, int64_t ldc, float alpha);
void gemm_f32_ab_acc_f16(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                         const uint16_t* b, int64_t ldb, float* c, int64_t ldc);
// And with b in bf16 (gemm_bf16.cpp's path on CPUs without bf16 dot products).
void gemm_f32_abt_bf16(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                       const uint16_t* b, int64_t ldb, float* c, int64_t ldc, float alpha);
void gemm_f32_ab_acc_bf16(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                          const uint16_t* b, int64_t ldb, float* c, int64_t ldc);

// dst[i] = src[i] as f16 (round to nearest even), magnitudes past f16's range saturating at
// +-65504: what an f16 KV cache stores.
void narrow_f32_to_f16(const float* src, uint16_t* dst, int64_t n);

// One step of an online (streaming) softmax over a row's keys taken a block at a time, so the
// value product can consume each block while its key rows are still in cache. The row's state
// is its running maximum *max (-inf before any key) and the running sum *sum of
// exp(score - *max). Given the block's scores s[0..n), this raises *max to cover them, replaces
// s[j] by exp(s[j] - *max) (and zeroes s[n..n_pad): keys past the row's causal prefix), adds
// them to *sum, and returns the factor exp(old max - new max) by which everything the row
// accumulated before must be scaled (1 when the max did not change, 0 when there was nothing).
// n = 0 leaves the state alone and returns 1.
float online_softmax_block(float* s, int64_t n, int64_t n_pad, float* max, float* sum);
float online_softmax_block_reference(float* s, int64_t n, int64_t n_pad, float* max, float* sum);

// Asks for bytes [p, p + bytes) to be brought into L2 ahead of use (a hint: no effect on
// results). Attention streams a long cache from memory: the next key block (f32, f16 or bf16 rows)
// is requested while the current one is being multiplied, which the hardware prefetchers did not do
// for rows read in 4-row tiles.
void prefetch_bytes(const void* p, int64_t bytes);

// x[i] *= f for i < n.
void scale_f32(float* x, int64_t n, float f);

// dst[i] = the f32 value of the i-th f16 (bf16 when `bf16`) in src, for i < n: weights widened
// once for a product with several tokens.
void widen_half_to_f32(const void* src, bool bf16, float* dst, int64_t n);

}  // namespace whale
