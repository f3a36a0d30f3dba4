// DeepSeek V2 / V2-Lite / V3 / R1 (llama.cpp's "deepseek2"): Multi-head Latent Attention and
// DeepSeekMoE. Variants are configs (q_lora_rank 0 = V2-Lite's plain q_proj; router scoring and
// top-k method; first_k_dense_replace dense layers).
//
// MLA per token: q = W_q x (or W_qb norm(W_qa x)); [latent | k_pe] = W_kva x; latent is
// RMS-normed (eps 1e-6, as DeepSeek builds kv_a_layernorm), q_pe and k_pe get pair-style rope
// (DeepSeek's reference reorders to halves and rotates: the same as rotating pairs (2i, 2i+1)).
// The cache keeps only [latent | k_pe]. W_UK/W_UV (kv_b, per head [nope + v, kv_lora]) come
// either split (attn_k_b per head [kv_lora, nope] = W_UK^T, attn_v_b per head [v, kv_lora]) or
// whole (attn_kv_b: HF kv_b_proj and old GGUF files).
//   absorbed:  q_lat = W_UK^T q_nope;  s_j = q_lat . latent_j + q_pe . k_pe_j
//              o = W_UV (sum_j p_j latent_j)
//   expanded:  k_nope_j = W_UK latent_j, v_j = W_UV latent_j;  s_j = q_nope . k_nope_j + q_pe .
//   k_pe_j
//              o = sum_j p_j v_j
// Layers past num_hidden_layers (V3's multi-token-prediction module) are never loaded.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "model/attention.h"
#include "model/forward_common.h"
#include "model/model.h"
#include "model/moe_routing.h"
#include "model/rope_table.h"
#include "model/weight_source.h"

namespace whale {

namespace {

// DeepSeek constructs q_a_layernorm / kv_a_layernorm with the RMSNorm default epsilon.
constexpr double kLatentNormEps = 1e-6;

struct MlaLayer {
  const float* attn_norm = nullptr;  // [hidden]
  MatrixView wq;                     // [n_head * (nope + rope), hidden]   (q_lora_rank == 0)
  MatrixView wq_a;                   // [q_lora, hidden]
  const float* q_a_norm = nullptr;   // [q_lora]
  MatrixView wq_b;                   // [n_head * (nope + rope), q_lora]
  MatrixView wkv_a;                  // [kv_lora + rope, hidden]
  const float* kv_a_norm = nullptr;  // [kv_lora]
  bool split_kv_b = false;
  MatrixView wk_b;   // [n_head * kv_lora, nope]: head h = rows [h * kv_lora, +kv_lora]
  MatrixView wv_b;   // [n_head * v, kv_lora]:    head h = rows [h * v, +v]
  MatrixView wkv_b;  // [n_head * (nope + v), kv_lora]: head h = W_UK rows then W_UV rows
  MatrixView wo;     // [hidden, n_head * v]
  const float* ffn_norm = nullptr;  // [hidden]
  bool moe = false;
  MlpWeights dense;                    // [inter, hidden] x2, [hidden, inter]
  MatrixView router;                   // [n_expert, hidden]
  const float* router_bias = nullptr;  // [n_expert] (noaux_tc selection bias) or null
  std::vector<MlpWeights> experts;     // each [moe_inter, hidden] x2, [hidden, moe_inter]
  bool has_shared = false;
  MlpWeights shared;  // [moe_inter * n_shared, hidden] x2, [hidden, moe_inter * n_shared]
};

struct MlaWeights {
  MatrixView token_embd;  // [vocab, hidden]
  std::vector<MlaLayer> layers;
  const float* output_norm = nullptr;  // [hidden]
  MatrixView output;                   // [vocab, hidden]
};

enum Slot {
  kX,
  kNormed,
  kQ,
  kQa,
  kKva,
  kAttn,
  kProj,
  kGate,
  kUp,
  kScores,
  kCos,
  kSin,
  kGathered,
  kQnope,
  kQlat,
  kLatents,
  kKnope,
  kVexp,
  kHeadOut,
  kRouterLogits,
  kExpertIn,
  kExpertOut,
  kMoeOut,
  kRouteW
};
enum IntSlot {
  kRouteIds,
  kSeqTokens,
  kExpertTokens,
  kLens,
  kSeqSpans,
  kBlocks,
  kExpertFirst,
  kExpertFill,
  kActiveExperts
};

// Batches of at most this many tokens run whole routed experts per thread (see moe()).
constexpr int64_t kExpertParallelTokens = 16;

// Query tokens per attention work item: their rows share every key row loaded.
constexpr int64_t kTokensPerItem = 32;

class Deepseek2Model final : public Model {
 public:
  Deepseek2Model(std::unique_ptr<WeightSource> src, MlaWeights w, RopeTable rope,
                 RouterSettings router)
      : src_(std::move(src)),
        c_(src_->config()),
        w_(std::move(w)),
        rope_(std::move(rope)),
        router_(router),
        scale_(mla_softmax_scale(c_)) {}

  const ModelConfig& config() const override { return c_; }
  KvLayout kv_layout() const override {
    return {c_.num_hidden_layers, c_.kv_lora_rank + c_.qk_rope_head_dim};
  }
  void forward(const BatchView& b, Workspace& ws, float* logits) const override;

 private:
  void project_qkv(const MlaLayer& l, int64_t il, const BatchView& b, Workspace& ws) const;
  void attend_expanded(const MlaLayer& l, int64_t il, const BatchView& b,
                       std::span<const int32_t> toks, Workspace& ws) const;
  void attend_absorbed(const MlaLayer& l, int64_t il, const BatchView& b,
                       std::span<const int32_t> seq_toks, std::span<const int32_t> blocks,
                       Workspace& ws) const;
  void moe(const MlaLayer& l, const float* x, int64_t n, Workspace& ws, float* out,
           ThreadPool* pool) const;

  // Per-head products with W_UK / W_UV, whichever way kv_b is stored.
  void absorb_q(const MlaLayer& l, int64_t h, const float* q_nope, int64_t n, float* q_lat) const;
  void expand_k(const MlaLayer& l, int64_t h, const float* lat, int64_t m, float* k_nope) const;
  void apply_uv(const MlaLayer& l, int64_t h, const float* lat, int64_t m, float* v) const;

  std::unique_ptr<WeightSource> src_;
  const ModelConfig& c_;
  MlaWeights w_;
  RopeTable rope_;
  RouterSettings router_;
  double scale_;
};

void Deepseek2Model::absorb_q(const MlaLayer& l, int64_t h, const float* q_nope, int64_t n,
                              float* q_lat) const {
  const int64_t kvl = c_.kv_lora_rank, nope = c_.qk_nope_head_dim, v = c_.v_head_dim;
  if (l.split_kv_b) {
    matmul(l.wk_b.row_slice(h * kvl, kvl), q_nope, n, q_lat);
  } else {
    matmul_transposed(l.wkv_b.row_slice(h * (nope + v), nope), q_nope, n, q_lat);
  }
}

void Deepseek2Model::expand_k(const MlaLayer& l, int64_t h, const float* lat, int64_t m,
                              float* k_nope) const {
  const int64_t kvl = c_.kv_lora_rank, nope = c_.qk_nope_head_dim, v = c_.v_head_dim;
  if (l.split_kv_b) {
    matmul_transposed(l.wk_b.row_slice(h * kvl, kvl), lat, m, k_nope);
  } else {
    matmul(l.wkv_b.row_slice(h * (nope + v), nope), lat, m, k_nope);
  }
}

void Deepseek2Model::apply_uv(const MlaLayer& l, int64_t h, const float* lat, int64_t m,
                              float* out) const {
  const int64_t nope = c_.qk_nope_head_dim, v = c_.v_head_dim;
  if (l.split_kv_b) {
    matmul(l.wv_b.row_slice(h * v, v), lat, m, out);
  } else {
    matmul(l.wkv_b.row_slice(h * (nope + v) + nope, v), lat, m, out);
  }
}

// q for every token, [latent | k_pe] into each token's cache slot, rope applied.
void Deepseek2Model::project_qkv(const MlaLayer& l, int64_t il, const BatchView& b,
                                 Workspace& ws) const {
  const int64_t n = int64_t(b.tokens.size()), nh = c_.num_attention_heads;
  const int64_t nope = c_.qk_nope_head_dim, rope = c_.qk_rope_head_dim, kvl = c_.kv_lora_rank;
  const int64_t qk = nope + rope;
  const float* h = ws.f32(kNormed, 0);
  float* q = ws.f32(kQ, size_t(n * nh * qk));
  float* kva = ws.f32(kKva, size_t(n * (kvl + rope)));
  // W_q (or W_qa) and W_kva read the same normed input: one shared product.
  if (c_.q_lora_rank > 0) {
    float* qa = ws.f32(kQa, size_t(n * c_.q_lora_rank));
    const MatmulPart parts[] = {{&l.wq_a, qa}, {&l.wkv_a, kva}};
    matmul_shared_input(parts, h, n, b.pool);
    rms_norm(qa, l.q_a_norm, n, c_.q_lora_rank, kLatentNormEps, qa);
    matmul(l.wq_b, qa, n, q, b.pool);
  } else {
    const MatmulPart parts[] = {{&l.wq, q}, {&l.wkv_a, kva}};
    matmul_shared_input(parts, h, n, b.pool);
  }
  float* cos_t = ws.f32(kCos, size_t(rope / 2));
  float* sin_t = ws.f32(kSin, size_t(rope / 2));
  for (int64_t t = 0; t < n; ++t) {
    float* row = kva + t * (kvl + rope);
    rms_norm(row, l.kv_a_norm, 1, kvl, kLatentNormEps, row);
    rope_.cos_sin(b.positions[t], cos_t, sin_t);
    apply_rope(row + kvl, 1, rope, rope, cos_t, sin_t, RopeStyle::kPair);
    apply_rope(q + t * nh * qk + nope, nh, qk, rope, cos_t, sin_t, RopeStyle::kPair);
    b.caches[b.seq_ids[t]].store(il, b.positions[t], 0, row, kvl + rope);
  }
}

// Attention writes each token's per-head outputs ([n_head * v] per token) into its kAttn row.
//
// Expanded form, for the tokens `toks` (batch indices) of one sequence: per head (heads split
// across threads), the keys [W_UK latent | k_pe] and values W_UV latent of every cached position
// are decompressed into scratch once, then the sequence's tokens attend to them in blocks
// (attend_rows: two dense products per block).
void Deepseek2Model::attend_expanded(const MlaLayer& l, int64_t il, const BatchView& b,
                                     std::span<const int32_t> toks, Workspace& ws) const {
  const int64_t nh = c_.num_attention_heads, nope = c_.qk_nope_head_dim;
  const int64_t rope = c_.qk_rope_head_dim, kvl = c_.kv_lora_rank, vd = c_.v_head_dim;
  const int64_t qk = nope + rope, g = int64_t(toks.size());
  const KvView& cache = b.caches[b.seq_ids[toks[0]]];
  int64_t n_keys = 0;
  for (int32_t t : toks) n_keys = std::max<int64_t>(n_keys, b.positions[t] + 1);
  const float* q = ws.f32(kQ, 0);
  float* out = ws.f32(kAttn, 0);
  float* lat = ws.f32(kLatents, size_t(n_keys * kvl));  // latents of keys 0..n_keys-1
  for (int64_t j = 0; j < n_keys; ++j) cache.load(il, j, 0, lat + j * kvl, kvl);
  // Per-thread scratch: one copy of each buffer per thread.
  const int64_t n_thr = thread_count(b.pool), tb = std::min(g, kTokensPerItem);
  float* k_nope_all = ws.f32(kKnope, size_t(n_thr * n_keys * nope));
  float* k_all = ws.f32(kQlat, size_t(n_thr * n_keys * qk));
  float* v_all = ws.f32(kVexp, size_t(n_thr * n_keys * vd));
  float* qb_all = ws.f32(kQnope, size_t(n_thr * tb * qk));
  float* ob_all = ws.f32(kHeadOut, size_t(n_thr * tb * vd));
  float* scores_all = ws.f32(kScores, size_t(n_thr * attend_scratch_floats(tb)));
  int32_t* len_all = ws.i32(kLens, size_t(n_thr * tb));
  const float scale = float(scale_);

  parallel_or_inline(b.pool, size_t(nh), [&](size_t h_begin, size_t h_end, int thread) {
    float* k_nope = k_nope_all + thread * n_keys * nope;
    float* keys = k_all + thread * n_keys * qk;
    float* values = v_all + thread * n_keys * vd;
    float* qb = qb_all + thread * tb * qk;
    float* ob = ob_all + thread * tb * vd;
    int32_t* lens = len_all + thread * tb;
    for (int64_t h = int64_t(h_begin); h < int64_t(h_end); ++h) {
      expand_k(l, h, lat, n_keys, k_nope);
      apply_uv(l, h, lat, n_keys, values);
      for (int64_t j = 0; j < n_keys; ++j) {
        std::memcpy(keys + j * qk, k_nope + j * nope, size_t(nope) * sizeof(float));
        cache.load(il, j, 0, keys + j * qk + nope, rope, kvl);
      }
      for (int64_t i0 = 0; i0 < g; i0 += tb) {
        const int64_t m = std::min(tb, g - i0);
        for (int64_t i = 0; i < m; ++i) {
          std::memcpy(qb + i * qk, q + (toks[i0 + i] * nh + h) * qk, size_t(qk) * sizeof(float));
          lens[i] = b.positions[toks[i0 + i]] + 1;
        }
        attend_rows(qb, qk, m, lens, qk, vd, RowSource::dense(keys, qk),
                    RowSource::dense(values, vd), scale, ob, vd,
                    scores_all + thread * attend_scratch_floats(tb));
        for (int64_t i = 0; i < m; ++i)
          std::memcpy(out + (toks[i0 + i] * nh + h) * vd, ob + i * vd, size_t(vd) * sizeof(float));
      }
    }
  });
}

// Absorbed MLA reads the latent cache in place: a head's query becomes [W_UK^T q_nope | q_pe]
// (kv_lora + rope values) and attends over the cache rows [latent | k_pe] themselves; the
// weighted latent sum then goes through W_UV. `blocks` lists (first, count) spans of seq_toks:
// up to kTokensPerItem tokens of one sequence each; a block's rows (all heads x its tokens,
// row hh * m + i for head hh and token i) share every cache row loaded.
//
// Three parallel regions for every sequence at once: (1) the absorbed queries, per (block,
// head); (2) attention per (block, span of keys): with fewer blocks than threads (one or two
// sequences decoding), a block's keys are split across the threads (flash-decoding: each thread
// streams only its part of a long cache, for all heads, and keeps partial softmax state), rather
// than its heads (which made every thread stream the whole cache); (3) per (block, head), the
// partials merged and put through W_UV.
void Deepseek2Model::attend_absorbed(const MlaLayer& l, int64_t il, const BatchView& b,
                                     std::span<const int32_t> seq_toks,
                                     std::span<const int32_t> blocks, Workspace& ws) const {
  const int64_t nh = c_.num_attention_heads, nope = c_.qk_nope_head_dim;
  const int64_t rope = c_.qk_rope_head_dim, kvl = c_.kv_lora_rank, vd = c_.v_head_dim;
  const int64_t qk = nope + rope, dk = kvl + rope, n_blocks = int64_t(blocks.size()) / 2;
  if (n_blocks == 0) return;
  int64_t n_keys = 0, tb = 1, n_tok = 0;  // n_tok: seq_toks entries the blocks reach
  for (int64_t k = 0; k < n_blocks; ++k) {
    tb = std::max<int64_t>(tb, blocks[2 * k + 1]);
    n_tok = std::max<int64_t>(n_tok, blocks[2 * k] + blocks[2 * k + 1]);
    for (int32_t i = 0; i < blocks[2 * k + 1]; ++i)
      n_keys = std::max<int64_t>(n_keys, b.positions[seq_toks[blocks[2 * k] + i]] + 1);
  }
  const float* q = ws.f32(kQ, 0);
  float* out = ws.f32(kAttn, 0);
  const int64_t n_thr = thread_count(b.pool);
  // Key spans per block: n_thr / gcd(n_blocks, n_thr) makes the (block, span) items a multiple
  // of the thread count, so equal blocks share the threads evenly (1 block on 2 threads: 2
  // spans; 3 blocks on 2 threads: 6 items, 3 each; 4 blocks: no split). A span costs about as
  // much as two more keys (zeroing and merging its rows' partial outputs), so spans as short as
  // kMinKeysPerSpan keys pay off; short contexts (and tests with 2 threads) split too.
  constexpr int64_t kMinKeysPerSpan = 32;
  const int64_t n_spans = std::clamp<int64_t>(n_thr / std::gcd(n_blocks, n_thr), 1,
                                              std::max<int64_t>(1, n_keys / kMinKeysPerSpan));
  const int64_t all_rows = n_tok * nh;  // block k's rows start at blocks[2k] * nh
  float* qfull = ws.f32(kQlat, size_t(all_rows * dk));
  int32_t* lens = ws.i32(kLens, size_t(all_rows));
  // Partial state of span p: outs [p][row][kvl], then max and sum [p][row].
  float* part_out = ws.f32(kLatents, size_t(n_spans * all_rows * (kvl + 2)));
  float* part_max = part_out + n_spans * all_rows * kvl;
  float* part_sum = part_max + n_spans * all_rows;
  float* qn_all = ws.f32(kQnope, size_t(n_thr * tb * nope));
  float* qlat_all = ws.f32(kKnope, size_t(n_thr * tb * kvl));
  float* lat_all = ws.f32(kHeadOut, size_t(n_thr * tb * kvl));
  float* uv_all = ws.f32(kVexp, size_t(n_thr * tb * vd));
  float* scratch_all = ws.f32(kScores, size_t(n_thr * attend_scratch_floats(tb * nh)));
  const float scale = float(scale_);

  // Items of regions (1) and (3): (block k, head h), whose m rows start at row0.
  struct BlockHead {
    const int32_t* toks;
    int64_t h, m, row0;
  };
  auto block_head = [&](size_t item) {
    const int64_t k = int64_t(item) / nh, h = int64_t(item) % nh, m = blocks[2 * k + 1];
    return BlockHead{seq_toks.data() + blocks[2 * k], h, m, blocks[2 * k] * nh + h * m};
  };

  parallel_or_inline(b.pool, size_t(n_blocks * nh), [&](size_t begin, size_t end, int thr) {
    float* qn = qn_all + thr * tb * nope;
    float* qlat = qlat_all + thr * tb * kvl;
    for (size_t item = begin; item < end; ++item) {
      const auto [toks, h, m, row0] = block_head(item);
      for (int64_t i = 0; i < m; ++i)
        std::memcpy(qn + i * nope, q + (toks[i] * nh + h) * qk, size_t(nope) * sizeof(float));
      absorb_q(l, h, qn, m, qlat);
      for (int64_t i = 0; i < m; ++i) {
        float* row = qfull + (row0 + i) * dk;
        std::memcpy(row, qlat + i * kvl, size_t(kvl) * sizeof(float));
        std::memcpy(row + kvl, q + (toks[i] * nh + h) * qk + nope, size_t(rope) * sizeof(float));
        lens[row0 + i] = b.positions[toks[i]] + 1;
      }
    }
  });

  parallel_or_inline(b.pool, size_t(n_blocks * n_spans), [&](size_t begin, size_t end, int thr) {
    float* scratch = scratch_all + thr * attend_scratch_floats(tb * nh);
    for (size_t item = begin; item < end; ++item) {
      const int64_t k = int64_t(item) / n_spans, p = int64_t(item) % n_spans;
      const int64_t m = blocks[2 * k + 1], row0 = blocks[2 * k] * nh, rows = nh * m;
      const int64_t keys = *std::max_element(lens + row0, lens + row0 + rows);
      const int64_t j0 = keys * p / n_spans, j1 = keys * (p + 1) / n_spans;
      const RowSource cached =
          RowSource::in_cache(b.caches[b.seq_ids[seq_toks[blocks[2 * k]]]], il, 0);
      const int64_t part = p * all_rows + row0;
      attend_rows_partial(qfull + row0 * dk, dk, rows, lens + row0, dk, kvl, cached, cached, scale,
                          j0, j1, part_out + part * kvl, kvl, part_max + part, part_sum + part,
                          scratch);
    }
  });

  parallel_or_inline(b.pool, size_t(n_blocks * nh), [&](size_t begin, size_t end, int thr) {
    float* lat = lat_all + thr * tb * kvl;
    float* uv = uv_all + thr * tb * vd;
    for (size_t item = begin; item < end; ++item) {
      const auto [toks, h, m, row0] = block_head(item);
      merge_attention_parts(n_spans, m, kvl, part_out + row0 * kvl, all_rows * kvl, kvl,
                            part_max + row0, part_sum + row0, all_rows, lat, kvl);
      apply_uv(l, h, lat, m, uv);
      for (int64_t i = 0; i < m; ++i)
        std::memcpy(out + (toks[i] * nh + h) * vd, uv + i * vd, size_t(vd) * sizeof(float));
    }
  });
}

void Deepseek2Model::moe(const MlaLayer& l, const float* x, int64_t n, Workspace& ws, float* out,
                         ThreadPool* pool) const {
  const int64_t H = c_.hidden_size, E = c_.n_routed_experts, k = router_.top_k;
  const int64_t inter = c_.moe_intermediate_size;
  float* router_logits = ws.f32(kRouterLogits, size_t(n * E));
  int32_t* ids = ws.i32(kRouteIds, size_t(n * k));
  float* wts = ws.f32(kRouteW, size_t(n * k));
  matmul(l.router, x, n, router_logits, pool);
  for (int64_t t = 0; t < n; ++t)
    route_token(router_, router_logits + t * E, l.router_bias, ids + t * k, wts + t * k);

  std::memset(out, 0, size_t(n * H) * sizeof(float));
  // Group the batch's tokens by expert so each expert's weights are read once per batch: the
  // (token, weight) pairs of expert e are members[first[e] .. first[e + 1]), their inputs the
  // same rows of xe.
  int32_t* first = ws.i32(kExpertFirst, size_t(E + 1));
  int32_t* members = ws.i32(kExpertTokens, size_t(n * k));
  float* member_w = ws.f32(kGathered, size_t(n * k));
  float* xe = ws.f32(kExpertIn, size_t(n * k * H));
  float* ye = ws.f32(kExpertOut, size_t(n * k * H));
  std::fill(first, first + E + 1, 0);
  for (int64_t i = 0; i < n * k; ++i) ++first[ids[i] + 1];
  for (int64_t e = 0; e < E; ++e) first[e + 1] += first[e];
  int32_t* fill = ws.i32(kExpertFill, size_t(E));
  std::copy(first, first + E, fill);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t j = 0; j < k; ++j) {
      const int32_t slot = fill[ids[t * k + j]]++;
      members[slot] = int32_t(t);
      member_w[slot] = wts[t * k + j];
      std::memcpy(xe + slot * H, x + t * H, size_t(H) * sizeof(float));
    }
  int32_t* active = ws.i32(kActiveExperts, size_t(E));
  int64_t n_active = 0;
  for (int64_t e = 0; e < E; ++e)
    if (first[e + 1] > first[e]) active[n_active++] = int32_t(e);

  const int64_t shared_inter = inter * std::max<int64_t>(1, c_.n_shared_experts);
  if (n <= kExpertParallelTokens && pool) {
    // Few tokens (decode): whole experts per thread, one parallel region for all of them
    // instead of one per product.
    const int64_t n_thr = thread_count(pool), per_thread = n * inter;
    float* gate_all = ws.f32(kGate, size_t(std::max(n_thr * per_thread, n * shared_inter)));
    float* up_all = ws.f32(kUp, size_t(std::max(n_thr * per_thread, n * shared_inter)));
    parallel_or_inline(pool, size_t(n_active), [&](size_t begin, size_t end, int thread) {
      for (size_t a = begin; a < end; ++a) {
        const int64_t e = active[a], f = first[e], m = first[e + 1] - f;
        swiglu_mlp(l.experts[size_t(e)], xe + f * H, m, gate_all + thread * per_thread,
                   up_all + thread * per_thread, ye + f * H, nullptr);
      }
    });
  } else {
    float* gate = ws.f32(kGate, size_t(n * shared_inter));
    float* up = ws.f32(kUp, size_t(n * shared_inter));
    for (int64_t a = 0; a < n_active; ++a) {
      const int64_t e = active[a], f = first[e], m = first[e + 1] - f;
      swiglu_mlp(l.experts[size_t(e)], xe + f * H, m, gate, up, ye + f * H, pool);
    }
  }
  for (int64_t a = 0; a < n_active; ++a)
    for (int64_t i = first[active[a]]; i < first[active[a] + 1]; ++i)
      for (int64_t d = 0; d < H; ++d) out[members[i] * H + d] += member_w[i] * ye[i * H + d];
  float* gate = ws.f32(kGate, 0);
  float* up = ws.f32(kUp, 0);
  if (l.has_shared) {
    swiglu_mlp(l.shared, x, n, gate, up, ye, pool);
    add(out, ye, n * H);
  }
}

void Deepseek2Model::forward(const BatchView& b, Workspace& ws, float* logits) const {
  const int64_t n = int64_t(b.tokens.size()), H = c_.hidden_size;
  const int64_t nh = c_.num_attention_heads, vd = c_.v_head_dim;
  float* x = ws.f32(kX, size_t(n * H));
  float* normed = ws.f32(kNormed, size_t(n * H));
  float* proj = ws.f32(kProj, size_t(n * H));
  ws.f32(kAttn, size_t(n * nh * vd));
  ws.f32(kQ, size_t(n * nh * (c_.qk_nope_head_dim + c_.qk_rope_head_dim)));
  // The batch's tokens grouped by sequence. Sequences in the expanded form keep their span in
  // `spans` (moved to the front); the absorbed ones are cut into `blocks` (first, count).
  int32_t* seq_toks = ws.i32(kSeqTokens, size_t(n));
  int32_t* spans = ws.i32(kSeqSpans, size_t(2 * n));
  int32_t* blocks = ws.i32(kBlocks, size_t(2 * n));
  const int64_t n_seqs = group_by_sequence(b.seq_ids, seq_toks, spans);
  int64_t n_expanded = 0, n_blocks = 0;
  for (int64_t s = 0; s < n_seqs; ++s) {
    const int32_t first = spans[2 * s], g = spans[2 * s + 1];
    const bool expanded =
        b.mla_form == MlaForm::kExpanded || (b.mla_form == MlaForm::kAuto && g > 1);
    if (expanded) {
      spans[2 * n_expanded] = first;
      spans[2 * n_expanded++ + 1] = g;
      continue;
    }
    for (int32_t i0 = first; i0 < first + g; i0 += int32_t(kTokensPerItem)) {
      blocks[2 * n_blocks] = i0;
      blocks[2 * n_blocks++ + 1] = int32_t(std::min<int64_t>(kTokensPerItem, first + g - i0));
    }
  }
  embed_tokens(w_.token_embd, b.tokens, x);
  for (int64_t il = 0; il < c_.num_hidden_layers; ++il) {
    const MlaLayer& l = w_.layers[size_t(il)];
    rms_norm(x, l.attn_norm, n, H, c_.rms_norm_eps, normed);
    project_qkv(l, il, b, ws);
    for (int64_t k = 0; k < n_expanded; ++k)
      attend_expanded(l, il, b,
                      std::span<const int32_t>(seq_toks + spans[2 * k], size_t(spans[2 * k + 1])),
                      ws);
    attend_absorbed(l, il, b, std::span<const int32_t>(seq_toks, size_t(n)),
                    std::span<const int32_t>(blocks, size_t(2 * n_blocks)), ws);
    matmul(l.wo, ws.f32(kAttn, 0), n, proj, b.pool);
    add(x, proj, n * H);
    rms_norm(x, l.ffn_norm, n, H, c_.rms_norm_eps, normed);
    if (l.moe) {
      moe(l, normed, n, ws, ws.f32(kMoeOut, size_t(n * H)), b.pool);
      add(x, ws.f32(kMoeOut, 0), n * H);
    } else {
      const int64_t inter = c_.intermediate_size;
      swiglu_mlp(l.dense, normed, n, ws.f32(kGate, size_t(n * inter)),
                 ws.f32(kUp, size_t(n * inter)), proj, b.pool);
      add(x, proj, n * H);
    }
  }
  float* gathered = ws.f32(kGathered, b.logit_rows.size() * size_t(H));
  output_logits(x, H, w_.output_norm, c_.rms_norm_eps, w_.output, b.logit_rows, gathered, logits,
                b.pool);
}

Status load_moe(WeightSource& s, const ModelConfig& c, const std::string& p, MlaLayer& l) {
  const int64_t H = c.hidden_size, E = c.n_routed_experts, I = c.moe_intermediate_size;
  l.moe = true;
  WHALE_LOAD(l.router, s.matrix(p + "ffn_gate_inp.weight", {H, E}));
  if (s.has(p + "exp_probs_b.bias")) WHALE_LOAD(l.router_bias, s.vector(p + "exp_probs_b.bias", E));
  if (c.topk_method == "noaux_tc" && !l.router_bias)
    return make_error(
        "%sexp_probs_b.bias (e_score_correction_bias) is missing: noaux_tc routing "
        "needs it",
        p.c_str());
  std::vector<MatrixView> gate, up, down;
  WHALE_LOAD(gate, s.experts(p + "ffn_gate_exps.weight", E, I, H));
  WHALE_LOAD(up, s.experts(p + "ffn_up_exps.weight", E, I, H));
  WHALE_LOAD(down, s.experts(p + "ffn_down_exps.weight", E, H, I));
  for (int64_t e = 0; e < E; ++e)
    l.experts.push_back({gate[size_t(e)], up[size_t(e)], down[size_t(e)]});
  if (c.n_shared_experts > 0) {
    l.has_shared = true;
    WHALE_LOAD(l.shared, load_mlp(s, p, "_shexp", H, I * c.n_shared_experts));
  }
  return Status::Ok();
}

Result<MlaWeights> load_weights(WeightSource& s) {
  const ModelConfig& c = s.config();
  const int64_t H = c.hidden_size, V = c.vocab_size, nh = c.num_attention_heads;
  const int64_t nope = c.qk_nope_head_dim, rope = c.qk_rope_head_dim, vd = c.v_head_dim;
  const int64_t kvl = c.kv_lora_rank, ql = c.q_lora_rank;
  if (kvl <= 0) return make_error("kv_lora_rank must be positive for deepseek2");
  MlaWeights w;
  WHALE_LOAD(w.token_embd, s.matrix("token_embd.weight", {H, V}));
  for (int64_t il = 0; il < c.num_hidden_layers; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    MlaLayer l;
    WHALE_LOAD(l.attn_norm, s.vector(p + "attn_norm.weight", H));
    if (ql > 0) {
      WHALE_LOAD(l.wq_a, s.matrix(p + "attn_q_a.weight", {H, ql}));
      WHALE_LOAD(l.q_a_norm, s.vector(p + "attn_q_a_norm.weight", ql));
      WHALE_LOAD(l.wq_b, s.matrix(p + "attn_q_b.weight", {ql, nh * (nope + rope)}));
    } else {
      WHALE_LOAD(l.wq, s.matrix(p + "attn_q.weight", {H, nh * (nope + rope)}));
    }
    WHALE_LOAD(l.wkv_a, s.matrix(p + "attn_kv_a_mqa.weight", {H, kvl + rope}));
    WHALE_LOAD(l.kv_a_norm, s.vector(p + "attn_kv_a_norm.weight", kvl));
    if (s.has(p + "attn_k_b.weight")) {
      l.split_kv_b = true;
      WHALE_LOAD(l.wk_b, s.matrix(p + "attn_k_b.weight", {nope, kvl, nh}));
      WHALE_LOAD(l.wv_b, s.matrix(p + "attn_v_b.weight", {kvl, vd, nh}));
    } else {
      WHALE_LOAD(l.wkv_b, s.matrix(p + "attn_kv_b.weight", {kvl, nh * (nope + vd)}));
    }
    WHALE_LOAD(l.wo, s.matrix(p + "attn_output.weight", {nh * vd, H}));
    WHALE_LOAD(l.ffn_norm, s.vector(p + "ffn_norm.weight", H));
    // The file says which layers are MoE (llama.cpp's converter and loader make every layer
    // after the leading dense ones MoE; HF configs may also set moe_layer_freq).
    if (s.has(p + "ffn_gate_inp.weight")) {
      WHALE_TRY(load_moe(s, c, p, l));
    } else {
      WHALE_LOAD(l.dense, load_mlp(s, p, "", H, c.intermediate_size));
    }
    w.layers.push_back(std::move(l));
  }
  WHALE_LOAD(w.output_norm, s.vector("output_norm.weight", H));
  WHALE_LOAD(w.output, load_output_head(s, w.token_embd, H, V));
  return w;
}

}  // namespace

Result<std::unique_ptr<Model>> load_deepseek2(std::unique_ptr<WeightSource> weights) {
  const ModelConfig& c = weights->config();
  RouterSettings router;
  if (c.has_moe()) {
    auto r = router_settings(c);
    if (!r) return r.error();
    router = r.value();
  }
  auto w = load_weights(*weights);
  if (!w) return w.error();
  auto rope = make_rope_table(c, *weights);
  if (!rope) return rope.error();
  return std::unique_ptr<Model>(std::make_unique<Deepseek2Model>(
      std::move(weights), std::move(w.value()), std::move(rope.value()), router));
}

}  // namespace whale
