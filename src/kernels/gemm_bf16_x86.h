// The vdpbf16ps forms of gemm_bf16.h's products, for x86 CPUs with AVX512-BF16 (Zen 4, Cooper
// Lake, Sapphire Rapids). Highway 1.0.3 has no target with this instruction, so these are
// written with intrinsics in functions compiled for it (target attributes), reached only after
// cpu_supported() says the CPU has it. gemm_bf16.cpp is the only caller; it owns the semantics
// and also requires Highway's dispatch to be on an AVX-512 target (tests that restrict the
// targets to AVX2 or below thereby test the fallback).
#pragma once

#include <cstdint>

namespace whale::x86_bf16 {

// The CPU executes AVX512-BF16 (and the OS keeps the zmm state).
bool cpu_supported();

// gemm_bf16_abt, gemm_bf16_ab_acc and round_to_bf16 (gemm_bf16.h); M, N > 0.
void abt(int64_t M, int64_t N, int64_t K, const uint16_t* a, int64_t lda, const uint16_t* b,
         int64_t ldb, float* c, int64_t ldc, float alpha);
void ab_acc(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const uint16_t* b,
            int64_t ldb, float* c, int64_t ldc);
void round_to_bf16(const float* src, int64_t n, uint16_t* dst);

}  // namespace whale::x86_bf16
