// Llama and Qwen2: the same decoder graph; the differences are config switches.
//   - Qwen2 (and attention_bias llama models) add biases to q/k/v
//   - rope style: pairs (2i, 2i+1) when llama.cpp's converter permuted llama q/k rows (GGUF),
//     halves (i, i + d/2) for HF checkpoints and for Qwen2 in either file kind
//   - llama3 / linear rope scaling through the RopeTable
// Grouped-query attention: query head h reads kv head h / (n_head / n_kv_head).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/attention.h"
#include "model/forward_common.h"
#include "model/model.h"
#include "model/rope_table.h"
#include "model/weight_source.h"

namespace whale {

namespace {

struct LlamaLayer {
  const float* attn_norm = nullptr;  // [hidden]
  MatrixView wq;                     // [n_head * head_dim, hidden]
  MatrixView wk;                     // [n_kv_head * head_dim, hidden]
  MatrixView wv;                     // [n_kv_head * head_dim, hidden]
  MatrixView wo;                     // [hidden, n_head * head_dim]
  const float* bq = nullptr;         // [n_head * head_dim] or null
  const float* bk = nullptr;         // [n_kv_head * head_dim] or null
  const float* bv = nullptr;         // [n_kv_head * head_dim] or null
  const float* bo = nullptr;         // [hidden] or null
  const float* ffn_norm = nullptr;   // [hidden]
  MlpWeights mlp;                    // gate/up [inter, hidden], down [hidden, inter]
};

struct LlamaWeights {
  MatrixView token_embd;  // [vocab, hidden]
  std::vector<LlamaLayer> layers;
  const float* output_norm = nullptr;  // [hidden]
  MatrixView output;                   // [vocab, hidden] (token_embd when tied)
};

// Workspace slots of this family.
enum Slot {
  kX,
  kNormed,
  kQ,
  kK,
  kV,
  kAttn,
  kProj,
  kGate,
  kUp,
  kScores,
  kCos,
  kSin,
  kGathered,
  kQueryBlock,
  kOutBlock
};
enum IntSlot { kSeqTokens, kSeqSpans, kItems, kLens };

// Query tokens per attention work item: their rows share every key row loaded.
constexpr int64_t kTokensPerItem = 32;

class LlamaFamilyModel final : public Model {
 public:
  LlamaFamilyModel(std::unique_ptr<WeightSource> src, LlamaWeights w, RopeTable rope)
      : src_(std::move(src)), c_(src_->config()), w_(std::move(w)), rope_(std::move(rope)) {
    style_ = src_->rope_rows_interleaved() ? RopeStyle::kPair : RopeStyle::kHalf;
  }

  const ModelConfig& config() const override { return c_; }
  KvLayout kv_layout() const override {
    // Columns: each kv head's key, then each kv head's value.
    return {c_.num_hidden_layers, 2 * c_.num_key_value_heads * c_.head_dim(),
            2 * c_.num_key_value_heads};
  }
  void forward(const BatchView& b, Workspace& ws, float* logits) const override;

 private:
  // seq_toks / spans: the batch grouped by sequence (group_by_sequence), n_seqs sequences.
  void attention(const LlamaLayer& l, int64_t il, const BatchView& b, const int32_t* seq_toks,
                 const int32_t* spans, int64_t n_seqs, Workspace& ws) const;

  std::unique_ptr<WeightSource> src_;
  const ModelConfig& c_;
  LlamaWeights w_;
  RopeTable rope_;
  RopeStyle style_ = RopeStyle::kHalf;
};

void add_bias(float* y, const float* bias, int64_t n, int64_t width) {
  if (!bias) return;
  for (int64_t t = 0; t < n; ++t) add(y + t * width, bias, width);
}

void LlamaFamilyModel::attention(const LlamaLayer& l, int64_t il, const BatchView& b,
                                 const int32_t* seq_toks, const int32_t* spans, int64_t n_seqs,
                                 Workspace& ws) const {
  const int64_t n = int64_t(b.tokens.size());
  const int64_t hd = c_.head_dim(), nh = c_.num_attention_heads, nkv = c_.num_key_value_heads;
  const int64_t kv_width = nkv * hd, group = nh / nkv;
  const float* h = ws.f32(kNormed, 0);
  float* q = ws.f32(kQ, size_t(n * nh * hd));
  float* k = ws.f32(kK, size_t(n * kv_width));
  float* v = ws.f32(kV, size_t(n * kv_width));
  const MatmulPart qkv[] = {{&l.wq, q}, {&l.wk, k}, {&l.wv, v}};
  matmul_shared_input(qkv, h, n, b.pool);
  add_bias(q, l.bq, n, nh * hd);
  add_bias(k, l.bk, n, kv_width);
  add_bias(v, l.bv, n, kv_width);

  // Rope, then every token's k/v into its sequence's cache before anyone attends, so a token
  // sees the earlier tokens of its own sequence in this batch.
  float* cos_t = ws.f32(kCos, size_t(hd / 2));
  float* sin_t = ws.f32(kSin, size_t(hd / 2));
  for (int64_t t = 0; t < n; ++t) {
    rope_.cos_sin(b.positions[t], cos_t, sin_t);
    apply_rope(q + t * nh * hd, nh, hd, hd, cos_t, sin_t, style_);
    apply_rope(k + t * kv_width, nkv, hd, hd, cos_t, sin_t, style_);
    const KvView& cache = b.caches[b.seq_ids[t]];
    for (int64_t kh = 0; kh < nkv; ++kh) {
      cache.store(il, b.positions[t], kh, k + t * kv_width + kh * hd, hd);
      cache.store(il, b.positions[t], nkv + kh, v + t * kv_width + kh * hd, hd);
    }
  }

  // Work items: (sequence, kv head, block of that sequence's tokens). An item's query rows are
  // the block's tokens x the kv head's group of query heads, all over the same cached keys.
  int32_t* items = ws.i32(kItems, size_t(4 * n * nkv));  // {first, count, kv head, unused}
  int64_t n_items = 0;
  for (int64_t s = 0; s < n_seqs; ++s) {
    const int32_t first = spans[2 * s], end = first + spans[2 * s + 1];
    for (int32_t i0 = first; i0 < end; i0 += int32_t(kTokensPerItem))
      for (int64_t kh = 0; kh < nkv; ++kh) {
        int32_t* it = items + 4 * n_items++;
        it[0] = i0;
        it[1] = int32_t(std::min<int64_t>(kTokensPerItem, end - i0));
        it[2] = int32_t(kh);
      }
  }
  const int64_t rows = kTokensPerItem * group, n_thr = thread_count(b.pool);
  float* scores_all = ws.f32(kScores, size_t(n_thr * attend_scratch_floats(rows)));
  float* q_all = ws.f32(kQueryBlock, size_t(n_thr * rows * hd));
  float* o_all = ws.f32(kOutBlock, size_t(n_thr * rows * hd));
  int32_t* len_all = ws.i32(kLens, size_t(n_thr * rows));
  float* out = ws.f32(kAttn, size_t(n * nh * hd));
  const float scale = float(1.0 / std::sqrt(double(hd)));
  const size_t group_bytes = size_t(group * hd) * sizeof(float);
  parallel_or_inline(b.pool, size_t(n_items), [&](size_t begin, size_t end, int thread) {
    float* qb = q_all + thread * rows * hd;
    float* ob = o_all + thread * rows * hd;
    int32_t* lens = len_all + thread * rows;
    for (size_t item = begin; item < end; ++item) {
      const int32_t* it = items + 4 * item;
      const int64_t m = it[1], kh = it[2];
      const int32_t* toks = seq_toks + it[0];
      for (int64_t i = 0; i < m; ++i) {
        std::memcpy(qb + i * group * hd, q + (toks[i] * nh + kh * group) * hd, group_bytes);
        std::fill(lens + i * group, lens + (i + 1) * group, b.positions[toks[i]] + 1);
      }
      const KvView& cache = b.caches[b.seq_ids[toks[0]]];
      attend_rows(qb, hd, m * group, lens, hd, hd, RowSource::in_cache(cache, il, kh),
                  RowSource::in_cache(cache, il, nkv + kh), scale, ob, hd,
                  scores_all + thread * attend_scratch_floats(rows));
      for (int64_t i = 0; i < m; ++i)
        std::memcpy(out + (toks[i] * nh + kh * group) * hd, ob + i * group * hd, group_bytes);
    }
  });
}

void LlamaFamilyModel::forward(const BatchView& b, Workspace& ws, float* logits) const {
  const int64_t n = int64_t(b.tokens.size()), H = c_.hidden_size;
  const int64_t inter = c_.intermediate_size;
  float* x = ws.f32(kX, size_t(n * H));
  float* normed = ws.f32(kNormed, size_t(n * H));
  float* proj = ws.f32(kProj, size_t(n * H));
  float* gate = ws.f32(kGate, size_t(n * inter));
  float* up = ws.f32(kUp, size_t(n * inter));
  int32_t* seq_toks = ws.i32(kSeqTokens, size_t(n));
  int32_t* spans = ws.i32(kSeqSpans, size_t(2 * n));
  const int64_t n_seqs = group_by_sequence(b.seq_ids, seq_toks, spans);
  embed_tokens(w_.token_embd, b.tokens, x);
  for (int64_t il = 0; il < c_.num_hidden_layers; ++il) {
    const LlamaLayer& l = w_.layers[size_t(il)];
    rms_norm(x, l.attn_norm, n, H, c_.rms_norm_eps, normed);
    attention(l, il, b, seq_toks, spans, n_seqs, ws);
    matmul(l.wo, ws.f32(kAttn, 0), n, proj, b.pool);
    add_bias(proj, l.bo, n, H);
    add(x, proj, n * H);
    rms_norm(x, l.ffn_norm, n, H, c_.rms_norm_eps, normed);
    swiglu_mlp(l.mlp, normed, n, gate, up, proj, b.pool);
    add(x, proj, n * H);
  }
  float* gathered = ws.f32(kGathered, b.logit_rows.size() * size_t(H));
  output_logits(x, H, w_.output_norm, c_.rms_norm_eps, w_.output, b.logit_rows, gathered, logits,
                b.pool);
}

// Loads a bias when the file has one (qwen2 always; llama with attention_bias).
Result<const float*> optional_vector(WeightSource& s, const std::string& name, int64_t n) {
  if (!s.has(name)) return static_cast<const float*>(nullptr);
  return s.vector(name, n);
}

Result<LlamaWeights> load_weights(WeightSource& s) {
  const ModelConfig& c = s.config();
  const int64_t H = c.hidden_size, V = c.vocab_size, hd = c.head_dim();
  const int64_t nq = c.num_attention_heads * hd, nkv = c.num_key_value_heads * hd;
  const int64_t I = c.intermediate_size;
  LlamaWeights w;
  WHALE_LOAD(w.token_embd, s.matrix("token_embd.weight", {H, V}));
  for (int64_t il = 0; il < c.num_hidden_layers; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    LlamaLayer l;
    WHALE_LOAD(l.attn_norm, s.vector(p + "attn_norm.weight", H));
    WHALE_LOAD(l.wq, s.matrix(p + "attn_q.weight", {H, nq}));
    WHALE_LOAD(l.wk, s.matrix(p + "attn_k.weight", {H, nkv}));
    WHALE_LOAD(l.wv, s.matrix(p + "attn_v.weight", {H, nkv}));
    WHALE_LOAD(l.wo, s.matrix(p + "attn_output.weight", {nq, H}));
    WHALE_LOAD(l.bq, optional_vector(s, p + "attn_q.bias", nq));
    WHALE_LOAD(l.bk, optional_vector(s, p + "attn_k.bias", nkv));
    WHALE_LOAD(l.bv, optional_vector(s, p + "attn_v.bias", nkv));
    WHALE_LOAD(l.bo, optional_vector(s, p + "attn_output.bias", H));
    WHALE_LOAD(l.ffn_norm, s.vector(p + "ffn_norm.weight", H));
    WHALE_LOAD(l.mlp, load_mlp(s, p, "", H, I));
    w.layers.push_back(l);
  }
  WHALE_LOAD(w.output_norm, s.vector("output_norm.weight", H));
  WHALE_LOAD(w.output, load_output_head(s, w.token_embd, H, V));
  return w;
}

}  // namespace

Result<std::unique_ptr<Model>> load_llama_family(std::unique_ptr<WeightSource> weights) {
  auto w = load_weights(*weights);
  if (!w) return w.error();
  auto rope = make_rope_table(weights->config(), *weights);
  if (!rope) return rope.error();
  return std::unique_ptr<Model>(std::make_unique<LlamaFamilyModel>(
      std::move(weights), std::move(w.value()), std::move(rope.value())));
}

}  // namespace whale
