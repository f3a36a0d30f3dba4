// attend_rows and its flash-decoding parts (model/attention.h) against a direct f64 softmax
// attention, on odd sizes: rows with different causal prefixes, keys not a multiple of the key
// block, keys read from a paged cache (runs shorter than a block), and a row's keys split into
// spans whose partials are merged.
//
// Tolerance from the numerics: a score's f32 dot product errs by at most
// dk * 2^-24 * scale * sum_k |q_k key_k| (recursive summation); an additive score error e moves
// the softmax weights by a relative ~2e, so the output moves by ~2e * max|value|; the f32
// accumulation of the weights, sums and value products adds a few ulp per key block. A bf16
// cache computes in bf16 (queries and weights rounded to 8 significant bits, relative 2^-9):
// scores move by up to 2^-9 * scale * sum_k |q_k key_k| more, the output by 2^-9 * max|value|.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "../kernels/simd_test_util.h"
#include "model/attention.h"

namespace whale {
namespace {

using test::random_vec;

struct Problem {
  int64_t n_rows, dk, dv;
  std::vector<int32_t> len;
  std::vector<float> q;
  float scale;
};

Problem make_problem(int64_t n_rows, int64_t dk, int64_t dv, int64_t n_keys, uint32_t seed) {
  Problem p{n_rows, dk, dv, {}, random_vec(size_t(n_rows * dk), seed), 0.0f};
  p.scale = float(1.5 / std::sqrt(double(dk)));  // sharper than 1/sqrt(dk): larger exponents
  for (int64_t r = 0; r < n_rows; ++r)
    p.len.push_back(
        int32_t(std::max<int64_t>(1, n_keys - (r * 37) % std::max<int64_t>(1, n_keys))));
  p.len[0] = int32_t(n_keys);
  return p;
}

// Direct f64 attention of row r; also returns the row's tolerance.
std::vector<double> reference_row(const Problem& p, int64_t r, const RowSource& keys,
                                  const RowSource& values, double* tol) {
  const float* q = p.q.data() + r * p.dk;
  std::vector<double> s(size_t(p.len[size_t(r)]));
  std::vector<float> key(size_t(p.dk)), value(size_t(p.dv));
  double mx = -INFINITY, mag = 0.0, vmax = 0.0;
  for (size_t j = 0; j < s.size(); ++j) {
    keys.read(int64_t(j), key.data(), p.dk);
    values.read(int64_t(j), value.data(), p.dv);
    double d = 0.0, a = 0.0;
    for (int64_t k = 0; k < p.dk; ++k) {
      d += double(q[k]) * key[size_t(k)];
      a += std::fabs(double(q[k]) * key[size_t(k)]);
    }
    s[j] = p.scale * d;
    mx = std::max(mx, s[j]);
    mag = std::max(mag, p.scale * a);
    for (int64_t i = 0; i < p.dv; ++i) vmax = std::max(vmax, std::fabs(double(value[size_t(i)])));
  }
  double sum = 0.0;
  for (double& x : s) sum += (x = std::exp(x - mx));
  std::vector<double> out(size_t(p.dv), 0.0);
  for (size_t j = 0; j < s.size(); ++j) {
    values.read(int64_t(j), value.data(), p.dv);
    for (int64_t i = 0; i < p.dv; ++i) out[size_t(i)] += s[j] / sum * value[size_t(i)];
  }
  const bool bf16 = keys.type() == KvType::kBF16;
  const double dot_err = (1.2e-7 * double(p.dk) + (bf16 ? 1.0 / 512 : 0.0)) * mag;
  *tol = (2.0 * dot_err + 1e-6 + (bf16 ? 1.0 / 512 : 0.0)) * vmax;
  return out;
}

void expect_matches(const Problem& p, const RowSource& keys, const RowSource& values,
                    const std::vector<float>& got, int64_t ldo) {
  for (int64_t r = 0; r < p.n_rows; ++r) {
    double tol = 0.0;
    const auto want = reference_row(p, r, keys, values, &tol);
    for (int64_t i = 0; i < p.dv; ++i)
      ASSERT_NEAR(got[size_t(r * ldo + i)], want[size_t(i)], tol)
          << "row " << r << " (len " << p.len[size_t(r)] << ") column " << i;
  }
}

TEST(Attention, DenseRowsWithDifferentPrefixesMatchReference) {
  for (const int64_t n_keys : {int64_t(1), int64_t(5), int64_t(64), int64_t(65), int64_t(203)}) {
    SCOPED_TRACE(n_keys);
    const Problem p = make_problem(7, 37, 29, n_keys, 1);
    const auto k = random_vec(size_t(n_keys * 40), 2), v = random_vec(size_t(n_keys * 31), 3);
    const RowSource keys = RowSource::dense(k.data(), 40), values = RowSource::dense(v.data(), 31);
    const int64_t ldo = 33;
    std::vector<float> out(size_t(p.n_rows * ldo), -5.0f);
    std::vector<float> scratch(size_t(attend_scratch_floats(p.n_rows)));
    attend_rows(p.q.data(), p.dk, p.n_rows, p.len.data(), p.dk, p.dv, keys, values, p.scale,
                out.data(), ldo, scratch.data());
    expect_matches(p, keys, values, out, ldo);
    for (int64_t r = 0; r < p.n_rows; ++r)
      for (int64_t i = p.dv; i < ldo; ++i) ASSERT_EQ(out[size_t(r * ldo + i)], -5.0f);
  }
}

// A cache of 16-position pages cut from one buffer, [k | v] per position like llama's (MLA's
// form reads one source twice): the first half of the pages in order (with one layer, runs of
// rows longer than a page), the second half reversed (runs end at every page).
struct PagedCache {
  static constexpr int64_t kShift = 4, kPage = 16;
  std::vector<float> memory;
  std::vector<float*> table;
  KvView view;
  // width values per position, as n_columns columns (column-major within a page's layer
  // block), stored as `type` (an f16 or bf16 cache holds random values rounded to it).
  PagedCache(int64_t n_positions, int64_t width, int64_t layers, uint32_t seed,
             int64_t n_columns = 1, KvType type = KvType::kF32) {
    const int64_t n_pages = (n_positions + kPage - 1) / kPage, page = layers * kPage * width;
    memory = random_vec(size_t(n_pages * page), seed);
    for (int64_t i = 0; i < n_pages; ++i) {
      const int64_t at = i < n_pages / 2 ? i : n_pages / 2 + (n_pages - 1 - i);
      table.push_back(memory.data() + at * page);
    }
    view = KvView::over(table.data(), kShift, kPage, KvLayout{layers, width, n_columns, type});
    if (type != KvType::kF32) {
      const int64_t cw = width / n_columns;
      for (int64_t l = 0; l < layers; ++l)
        for (int64_t pos = 0; pos < n_pages * kPage; ++pos)
          for (int64_t c = 0; c < n_columns; ++c)
            view.store(l, pos, c, random_vec(size_t(cw), seed + uint32_t(pos * 7 + c)).data(), cw);
    }
  }
};

// GQA-like: layer 1 of a paged cache of 150 positions, 24 values of key (column 0) then 24 of
// value (column 1) per position. attend_rows over it must match the reference; returns the
// output rows (dv apart).
constexpr int64_t kGqaKeys = 150, kGqaDim = 24;
std::vector<float> attend_gqa_columns(const PagedCache& cache, const Problem& p) {
  const RowSource keys = RowSource::in_cache(cache.view, 1, 0);
  const RowSource values = RowSource::in_cache(cache.view, 1, 1);
  std::vector<float> out(size_t(p.n_rows * kGqaDim));
  std::vector<float> scratch(size_t(attend_scratch_floats(p.n_rows)));
  attend_rows(p.q.data(), kGqaDim, p.n_rows, p.len.data(), kGqaDim, kGqaDim, keys, values, p.scale,
              out.data(), kGqaDim, scratch.data());
  expect_matches(p, keys, values, out, kGqaDim);
  return out;
}

TEST(Attention, PagedCacheRowsMatchReference) {
  PagedCache cache(kGqaKeys, 2 * kGqaDim, 2, 7, 2);
  attend_gqa_columns(cache, make_problem(6, kGqaDim, kGqaDim, kGqaKeys, 8));
}

// The same over an f16 cache (keys and values widened on load): the reference of the stored
// f16 values, within the same f32 tolerance, and bitwise the result of the same values widened
// into a dense f32 matrix.
TEST(Attention, F16CacheRowsMatchReferenceAndWidenedRows) {
  const int64_t n_keys = kGqaKeys, dk = kGqaDim, dv = kGqaDim;
  PagedCache cache(n_keys, 2 * dk, 2, 9, 2, KvType::kF16);
  const Problem p = make_problem(6, dk, dv, n_keys, 10);
  const RowSource keys = RowSource::in_cache(cache.view, 1, 0);
  const RowSource values = RowSource::in_cache(cache.view, 1, 1);
  EXPECT_EQ(keys.type(), KvType::kF16);
  const std::vector<float> out = attend_gqa_columns(cache, p);
  std::vector<float> scratch(size_t(attend_scratch_floats(p.n_rows)));
  std::vector<float> k(size_t(n_keys * dk)), v(size_t(n_keys * dv));
  for (int64_t j = 0; j < n_keys; ++j) {
    keys.read(j, k.data() + j * dk, dk);
    values.read(j, v.data() + j * dv, dv);
  }
  std::vector<float> wide(out.size());
  attend_rows(p.q.data(), dk, p.n_rows, p.len.data(), dk, dv, RowSource::dense(k.data(), dk),
              RowSource::dense(v.data(), dv), p.scale, wide.data(), dv, scratch.data());
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], wide[i]) << i;
}

// A bf16 cache: scores and value sums computed in bf16 (gemm_bf16.h), within the bf16
// tolerance of the f64 reference of the stored values; GQA-like columns and MLA-like rows (the
// values a prefix of the keys), keys split into flash-decoding spans.
TEST(Attention, BF16CacheRowsMatchReference) {
  PagedCache cache(kGqaKeys, 2 * kGqaDim, 2, 11, 2, KvType::kBF16);
  EXPECT_EQ(RowSource::in_cache(cache.view, 1, 0).type(), KvType::kBF16);
  attend_gqa_columns(cache, make_problem(6, kGqaDim, kGqaDim, kGqaKeys, 12));

  const int64_t mla_keys = 301, mla_dk = 64 + 32, mla_dv = 64;
  PagedCache latent(mla_keys, mla_dk, 1, 13, 1, KvType::kBF16);
  const Problem q = make_problem(16, mla_dk, mla_dv, mla_keys, 14);
  const RowSource rows = RowSource::in_cache(latent.view, 0, 0);
  const int64_t n_parts = 3, part_stride = q.n_rows * mla_dv;
  std::vector<float> outs(size_t(n_parts * part_stride)), maxes(size_t(n_parts * q.n_rows));
  std::vector<float> sums(maxes.size()), part_scratch(size_t(q.n_rows * kAttendKeyBlock));
  for (int64_t s = 0; s < n_parts; ++s)
    attend_rows_partial(q.q.data(), mla_dk, q.n_rows, q.len.data(), mla_dk, mla_dv, rows, rows,
                        q.scale, mla_keys * s / n_parts, mla_keys * (s + 1) / n_parts,
                        outs.data() + s * part_stride, mla_dv, maxes.data() + s * q.n_rows,
                        sums.data() + s * q.n_rows, part_scratch.data());
  std::vector<float> merged(size_t(q.n_rows * mla_dv));
  merge_attention_parts(n_parts, q.n_rows, mla_dv, outs.data(), part_stride, mla_dv, maxes.data(),
                        sums.data(), q.n_rows, merged.data(), mla_dv);
  expect_matches(q, rows, rows, merged, mla_dv);
}

// A bf16 cache in 16-position pages and the same values in one page: bitwise the same output
// (the value sums pair keys two by two; pages split those pairs at other places than a
// contiguous run does).
TEST(Attention, PagedAndContiguousBF16CachesGiveTheSameBits) {
  const int64_t n_keys = 150, dk = 40, dv = 32;
  PagedCache cache(n_keys, dk, 1, 52, 1, KvType::kBF16);
  std::vector<uint16_t> whole(size_t(n_keys * dk));
  for (int64_t j = 0; j < n_keys; ++j)
    std::memcpy(whole.data() + j * dk, cache.view.cell(0, j), size_t(dk) * 2);
  float* const one_page[1] = {reinterpret_cast<float*>(whole.data())};
  const KvView contiguous_view =
      KvView::over(one_page, 40, n_keys, KvLayout{1, dk, 1, KvType::kBF16});
  const Problem p = make_problem(5, dk, dv, n_keys, 53);
  std::vector<float> paged(size_t(p.n_rows * dv)), contiguous(paged.size());
  std::vector<float> scratch(size_t(attend_scratch_floats(p.n_rows)));
  const RowSource rows = RowSource::in_cache(cache.view, 0, 0);
  const RowSource flat = RowSource::in_cache(contiguous_view, 0, 0);
  EXPECT_EQ(flat.run_length(0, n_keys), n_keys);
  attend_rows(p.q.data(), dk, p.n_rows, p.len.data(), dk, dv, rows, rows, p.scale, paged.data(), dv,
              scratch.data());
  attend_rows(p.q.data(), dk, p.n_rows, p.len.data(), dk, dv, flat, flat, p.scale,
              contiguous.data(), dv, scratch.data());
  for (size_t i = 0; i < paged.size(); ++i) ASSERT_EQ(paged[i], contiguous[i]) << i;
}

// A page's layer block is column-major: one column's rows of the page's 16 positions lie
// together, so a GQA head's keys are one sequential run per page.
TEST(Attention, CacheColumnsAreContiguousWithinAPage) {
  const int64_t n_positions = 40, width = 24, layers = 2, n_columns = 3, cw = width / n_columns;
  PagedCache cache(n_positions, width, layers, 3, n_columns);
  const KvView& v = cache.view;
  EXPECT_EQ(v.column_width, cw);
  EXPECT_EQ(v.cell(1, 18, 2), cache.table[1] + 1 * 16 * width + (2 * 16 + 2) * cw);
  const RowSource col = RowSource::in_cache(v, 1, 2);
  EXPECT_EQ(col.run_length(0, 40), 16);
  EXPECT_EQ(col.run_length(18, 40), 14);
  EXPECT_EQ(col.row(5), static_cast<const float*>(col.row(4)) + cw);
  // Distinct (layer, position, column) cells never overlap.
  std::vector<int> hits(cache.memory.size(), 0);
  for (int64_t l = 0; l < layers; ++l)
    for (int64_t p = 0; p < n_positions; ++p)
      for (int64_t c = 0; c < n_columns; ++c)
        for (int64_t i = 0; i < cw; ++i)
          ++hits[size_t(static_cast<float*>(v.cell(l, p, c)) + i - cache.memory.data())];
  for (int h : hits) ASSERT_LE(h, 1);
}

// The same keys in pages (runs of 16 rows, some blocks split across pages) and in one dense
// matrix: bitwise the same output, which the server's prefix-shared pages rely on.
TEST(Attention, PagedAndContiguousRowsGiveTheSameBits) {
  const int64_t n_keys = 150, dk = 40, dv = 40;
  PagedCache cache(n_keys, dk, 1, 50);
  std::vector<float> dense(size_t(n_keys * dk));
  for (int64_t j = 0; j < n_keys; ++j) cache.view.load(0, j, 0, dense.data() + j * dk, dk);
  const Problem p = make_problem(5, dk, dv, n_keys, 51);
  std::vector<float> paged(size_t(p.n_rows * dv)), contiguous(paged.size());
  std::vector<float> scratch(size_t(attend_scratch_floats(p.n_rows)));
  const RowSource rows = RowSource::in_cache(cache.view, 0, 0);
  const RowSource flat = RowSource::dense(dense.data(), dk);
  attend_rows(p.q.data(), dk, p.n_rows, p.len.data(), dk, dv, rows, rows, p.scale, paged.data(), dv,
              scratch.data());
  attend_rows(p.q.data(), dk, p.n_rows, p.len.data(), dk, dv, flat, flat, p.scale,
              contiguous.data(), dv, scratch.data());
  for (size_t i = 0; i < paged.size(); ++i) ASSERT_EQ(paged[i], contiguous[i]) << i;
}

// Flash-decoding: the keys split into spans (some rows end before the later spans start), each
// span's partial computed on its own, then merged: the same result as one pass.
TEST(Attention, SplitKeySpansMergeToTheSameResult) {
  const int64_t n_keys = 301, dk = 64 + 7, dv = 64;  // MLA-like: values are the keys' prefix
  PagedCache cache(n_keys, dk, 1, 21);
  const Problem p = make_problem(9, dk, dv, n_keys, 22);
  const RowSource rows = RowSource::in_cache(cache.view, 0, 0);
  for (const int64_t n_parts : {int64_t(1), int64_t(2), int64_t(3), int64_t(7)}) {
    SCOPED_TRACE(n_parts);
    const int64_t ldo = dv + 3, part_stride = p.n_rows * ldo, state_stride = p.n_rows + 2;
    std::vector<float> outs(size_t(n_parts * part_stride)), maxes(size_t(n_parts * state_stride));
    std::vector<float> sums(maxes.size()), scratch(size_t(p.n_rows * kAttendKeyBlock));
    for (int64_t s = 0; s < n_parts; ++s)
      attend_rows_partial(p.q.data(), dk, p.n_rows, p.len.data(), dk, dv, rows, rows, p.scale,
                          n_keys * s / n_parts, n_keys * (s + 1) / n_parts,
                          outs.data() + s * part_stride, ldo, maxes.data() + s * state_stride,
                          sums.data() + s * state_stride, scratch.data());
    std::vector<float> out(size_t(p.n_rows * dv));
    merge_attention_parts(n_parts, p.n_rows, dv, outs.data(), part_stride, ldo, maxes.data(),
                          sums.data(), state_stride, out.data(), dv);
    expect_matches(p, rows, rows, out, dv);
  }
}

TEST(Attention, PartialOfARowWithNoKeysInTheSpanIsEmpty) {
  const Problem p = make_problem(1, 8, 8, 10, 30);
  const auto k = random_vec(100 * 8, 31);
  const RowSource rows = RowSource::dense(k.data(), 8);
  std::vector<float> out(8, 9.0f), scratch(kAttendKeyBlock);
  float mx = 0.0f, sum = 1.0f;
  attend_rows_partial(p.q.data(), 8, 1, p.len.data(), 8, 8, rows, rows, p.scale, 50, 100,
                      out.data(), 8, &mx, &sum, scratch.data());
  EXPECT_TRUE(std::isinf(mx) && mx < 0);
  EXPECT_EQ(sum, 0.0f);
  for (float x : out) EXPECT_EQ(x, 0.0f);
}

// One key far ahead of the others (in the last of several key blocks): exactly its value.
TEST(Attention, OneHotScoresGiveExactlyThatValue) {
  const int64_t n_keys = 200, d = 16;
  std::vector<float> k(size_t(n_keys * d), 0.0f), q(d, 0.0f);
  const auto v = random_vec(size_t(n_keys * d), 40);
  q[3] = 1.0f;
  k[size_t(170 * d + 3)] = 1000.0f;  // score 1000 vs 0: exp(-1000) is 0 in f32
  const int32_t len = int32_t(n_keys);
  std::vector<float> out(d), scratch(size_t(attend_scratch_floats(1)));
  attend_rows(q.data(), d, 1, &len, d, d, RowSource::dense(k.data(), d),
              RowSource::dense(v.data(), d), 1.0f, out.data(), d, scratch.data());
  for (int64_t i = 0; i < d; ++i) EXPECT_EQ(out[size_t(i)], v[size_t(170 * d + i)]);
}

}  // namespace
}  // namespace whale
