// Dequantizers on hand-built blocks: expected values worked out by hand from the block layouts
// (independent of llama.cpp; ggml_compare_test.cpp covers random blocks against it).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "platform/fp16.h"
#include "quant/dequantize.h"

namespace whale {
namespace {

void half(std::vector<uint8_t>& b, size_t at, float v) {
  uint16_t h = f32_to_f16(v);
  b[at] = uint8_t(h & 0xff);
  b[at + 1] = uint8_t(h >> 8);
}

std::vector<float> run(TensorType t, const std::vector<uint8_t>& b) {
  int64_t n = traits(t).block_size;
  std::vector<float> y(static_cast<size_t>(n));
  EXPECT_TRUE(dequantize_row(t, b.data(), y.data(), n).ok());
  return y;
}

TEST(DequantizeByHand, Q4_0) {
  std::vector<uint8_t> b(18, 0);
  half(b, 0, 0.5f);
  b[2] = 0x9F;   // element 0: low nibble 15 -> (15-8)*0.5 = 3.5; element 16: 9 -> 0.5
  b[17] = 0x08;  // element 15: 8 -> 0; element 31: 0 -> -4
  auto y = run(TensorType::Q4_0, b);
  EXPECT_EQ(y[0], 3.5f);
  EXPECT_EQ(y[16], 0.5f);
  EXPECT_EQ(y[15], 0.0f);
  EXPECT_EQ(y[31], -4.0f);
  EXPECT_EQ(y[1], -4.0f);  // nibble 0
}

TEST(DequantizeByHand, Q4_1) {
  std::vector<uint8_t> b(20, 0);
  half(b, 0, 2.0f);
  half(b, 2, -1.0f);
  b[4] = 0x31;  // element 0: 1*2-1 = 1; element 16: 3*2-1 = 5
  auto y = run(TensorType::Q4_1, b);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[16], 5.0f);
  EXPECT_EQ(y[1], -1.0f);
}

TEST(DequantizeByHand, Q5_0AndQ5_1) {
  std::vector<uint8_t> b(22, 0);
  half(b, 0, 1.0f);
  uint32_t qh = (1u << 0) | (1u << 17);
  std::memcpy(&b[2], &qh, 4);
  b[6] = 0x2F;  // element 0: 15 | 16 = 31 -> 15; element 16: 2 -> -14
  b[7] = 0x00;  // element 1: 0 -> -16; element 17: 0 | 16 -> 0
  auto y = run(TensorType::Q5_0, b);
  EXPECT_EQ(y[0], 15.0f);
  EXPECT_EQ(y[16], -14.0f);
  EXPECT_EQ(y[1], -16.0f);
  EXPECT_EQ(y[17], 0.0f);

  std::vector<uint8_t> c(24, 0);
  half(c, 0, 0.25f);
  half(c, 2, 10.0f);
  std::memcpy(&c[4], &qh, 4);
  c[8] = 0x2F;
  auto z = run(TensorType::Q5_1, c);
  EXPECT_EQ(z[0], 31 * 0.25f + 10.0f);
  EXPECT_EQ(z[16], 2 * 0.25f + 10.0f);
  EXPECT_EQ(z[17], 16 * 0.25f + 10.0f);
}

TEST(DequantizeByHand, Q8_0) {
  std::vector<uint8_t> b(34, 0);
  half(b, 0, 0.125f);
  b[2] = 0x80;  // -128
  b[33] = 127;
  auto y = run(TensorType::Q8_0, b);
  EXPECT_EQ(y[0], -16.0f);
  EXPECT_EQ(y[31], 15.875f);
}

TEST(DequantizeByHand, Q8_K) {
  std::vector<uint8_t> b(292, 0);
  float d = 0.5f;
  std::memcpy(&b[0], &d, 4);
  b[4] = 0xFF;   // -1
  b[259] = 100;  // last element
  auto y = run(TensorType::Q8_K, b);
  EXPECT_EQ(y[0], -0.5f);
  EXPECT_EQ(y[255], 50.0f);
}

TEST(DequantizeByHand, Q4_K) {
  std::vector<uint8_t> b(144, 0);
  half(b, 0, 1.0f);  // d
  half(b, 2, 0.5f);  // dmin
  // group 0: scale 3, min 2 (bytes 0 and 4); group 5: scale 0x25 = 37, min 0x13 = 19:
  // low 4 bits in byte 9 (5 + 4), high 2 bits in bytes 1 (scale) and 5 (min).
  b[4 + 0] = 3;
  b[4 + 4] = 2;
  b[4 + 9] = 0x35;             // scale low nibble 5, min low nibble 3
  b[4 + 1] = uint8_t(2 << 6);  // scale bits 4-5 = 2 -> 0x20 | 5 = 37
  b[4 + 5] = uint8_t(1 << 6);  // min bits 4-5 = 1 -> 0x10 | 3 = 19
  b[16 + 0] = 0x0A;            // group 0 element 0: q = 10
  b[16 + 64 + 1] = 0xC0;       // group 5 (high nibbles of bytes 64..95) element 1: q = 12
  auto y = run(TensorType::Q4_K, b);
  EXPECT_EQ(y[0], 3.0f * 10 - 1.0f);            // d*3*10 - dmin*2
  EXPECT_EQ(y[1], -1.0f);                       // q = 0
  EXPECT_EQ(y[5 * 32 + 1], 37.0f * 12 - 9.5f);  // d*37*12 - 0.5*19
}

TEST(DequantizeByHand, Q5_K) {
  std::vector<uint8_t> b(176, 0);
  half(b, 0, 1.0f);
  half(b, 2, 1.0f);
  b[4 + 3] = 2;           // group 3 scale 2
  b[4 + 7] = 1;           // group 3 min 1
  b[16 + 4] = 1 << 3;     // fifth bit of group 3, element 4
  b[48 + 32 + 4] = 0x70;  // group 3 = high nibbles of bytes 32..63: q low = 7
  auto y = run(TensorType::Q5_K, b);
  EXPECT_EQ(y[3 * 32 + 4], 2.0f * 23 - 1.0f);
  EXPECT_EQ(y[3 * 32 + 5], -1.0f);
}

TEST(DequantizeByHand, Q6_K) {
  std::vector<uint8_t> b(210, 0);
  half(b, 208, 0.5f);
  for (int i = 0; i < 16; ++i) b[192 + i] = uint8_t(int8_t(i - 8));
  // element 0: ql[0] low nibble 5, qh[0] bits 0-1 = 3 -> q = 53 - 32 = 21, scale sc[0] = -8
  b[0] = 0x05;
  b[128] = 0x03;
  // element 200 = second half (128) + 72: k = 2 (ql high nibble of byte 64 + 8), qh[32 + 8]
  // bits 4-5; scale index 8 + 4 + (8 / 16) = 12 -> sc = 4.
  b[64 + 8] = 0xA0;        // high nibble 10
  b[128 + 32 + 8] = 0x20;  // bits 4-5 = 2 -> q = 10 | 32 = 42 - 32 = 10
  auto y = run(TensorType::Q6_K, b);
  EXPECT_EQ(y[0], 0.5f * -8 * 21);
  EXPECT_EQ(y[200], 0.5f * 4 * 10);
  EXPECT_EQ(y[1], 0.5f * -8 * -32);
}

TEST(DequantizeByHand, Q2_K) {
  std::vector<uint8_t> b(84, 0);
  half(b, 80, 1.0f);
  half(b, 82, 0.25f);
  b[0] = 0x43;                // group 0: scale 3, min 4
  b[3] = 0x05;                // group 3 (shift 2, second 16 of qs 0..31): scale 5, min 0
  b[16 + 0] = 0x02;           // element 0: q = 2
  b[16 + 16 + 2] = 0x3 << 2;  // element 3*16 + 2 = 50: q = 3
  auto y = run(TensorType::Q2_K, b);
  EXPECT_EQ(y[0], 3.0f * 2 - 1.0f);
  EXPECT_EQ(y[50], 5.0f * 3);
}

TEST(DequantizeByHand, Q3_K) {
  std::vector<uint8_t> b(110, 0);
  half(b, 108, 2.0f);
  // scale 0: low 4 bits 0xA (byte 96 low nibble), high bits 2 (byte 104 bits 0-1): 42 - 32 = 10
  b[96] = 0x0A;
  b[104] = 0x02;
  b[32] = 0x01;  // element 0: low 2 bits = 1
  b[0] = 0x01;   // high bit set for element 0 -> q = 1 (no -4)
  auto y = run(TensorType::Q3_K, b);
  EXPECT_EQ(y[0], 2.0f * 10 * 1);
  EXPECT_EQ(y[1], 2.0f * 10 * -4);  // q bits 0, high bit clear -> -4
}

TEST(DequantizeByHand, IQ4_NLAndIQ4_XS) {
  // IQ4_NL: nibble q -> d * {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89,
  // 113}[q], in Q4_0's element order.
  std::vector<uint8_t> nl(18, 0);
  half(nl, 0, 0.5f);
  nl[2] = 0xF0;   // element 0: q 0 -> -127 * 0.5; element 16: q 15 -> 113 * 0.5
  nl[17] = 0x78;  // element 15: q 8 -> 1 * 0.5; element 31: q 7 -> -10 * 0.5
  auto y = run(TensorType::IQ4_NL, nl);
  EXPECT_EQ(y[0], -63.5f);
  EXPECT_EQ(y[16], 56.5f);
  EXPECT_EQ(y[15], 0.5f);
  EXPECT_EQ(y[31], -5.0f);
  // IQ4_XS: sub-block s's 6-bit scale = low nibble of scales_l[s / 2] (high nibble for odd s)
  // | bits 2s..2s+1 of scales_h << 4, minus 32; its nibbles at 8 + 16 s.
  std::vector<uint8_t> xs(136, 0);
  half(xs, 0, 0.25f);
  xs[2] = 0x00;
  xs[3] = 0x80;             // scales_h: bits 14-15 = 2 -> sub-block 7's high bits 2
  xs[4] = 0x21;             // sub-block 0: low 1, sub-block 1: low 2 (high bits 0): 1 - 32, 2 - 32
  xs[7] = 0x30;             // sub-block 7: low 3 -> 3 | 2 << 4 = 35 - 32 = 3
  xs[8] = 0x0C;             // sub-block 0, element 0: q 12 -> 53; element 16: q 0 -> -127
  xs[8 + 16] = 9;           // sub-block 1, element 0: q 9 -> 13
  xs[8 + 112 + 15] = 0xE0;  // sub-block 7, element 15: q 0 -> -127; element 31: q 14 -> 89
  y = run(TensorType::IQ4_XS, xs);
  EXPECT_EQ(y[0], 0.25f * -31 * 53);
  EXPECT_EQ(y[16], 0.25f * -31 * -127);
  EXPECT_EQ(y[32], 0.25f * -30 * 13);
  EXPECT_EQ(y[7 * 32 + 15], 0.25f * 3 * -127);
  EXPECT_EQ(y[7 * 32 + 31], 0.25f * 3 * 89);
}

TEST(DequantizeByHand, FloatsAndErrors) {
  uint16_t h[2] = {f32_to_f16(1.5f), f32_to_f16(-2.0f)};
  float y[2];
  ASSERT_TRUE(dequantize_row(TensorType::F16, h, y, 2).ok());
  EXPECT_EQ(y[0], 1.5f);
  EXPECT_EQ(y[1], -2.0f);
  uint16_t bf[1] = {0x3fc0};  // 1.5 in bf16
  ASSERT_TRUE(dequantize_row(TensorType::BF16, bf, y, 1).ok());
  EXPECT_EQ(y[0], 1.5f);
  std::vector<uint8_t> q(34, 0);
  std::vector<float> out(64);
  EXPECT_FALSE(dequantize_row(TensorType::Q8_0, q.data(), out.data(), 33).ok());
  EXPECT_FALSE(dequantize_row(TensorType::I32, q.data(), out.data(), 1).ok());
}

}  // namespace
}  // namespace whale
