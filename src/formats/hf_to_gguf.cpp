#include "formats/hf_to_gguf.h"

#include <cmath>
#include <cstring>
#include <set>

namespace whale {

namespace {

using Shape = std::vector<uint64_t>;

std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Shape reversed(Shape s) {
  return Shape(s.rbegin(), s.rend());
}

// Collects the plan while checking each HF tensor's presence and shape.
class Planner {
 public:
  explicit Planner(const HfCheckpoint& ck) : ck_(ck) {}

  // Checks that `hf` exists with row-major shape `hf_shape` and marks it used.
  Status expect(const std::string& hf, const Shape& hf_shape) {
    const StTensor* t = ck_.find(hf);
    if (!t) return make_error("checkpoint is missing tensor '%s'", hf.c_str());
    if (t->shape != hf_shape)
      return make_error("tensor '%s' has shape %s, expected %s from config.json", hf.c_str(),
                        shape_text(t->shape).c_str(), shape_text(hf_shape).c_str());
    used_.insert(hf);
    used_.insert(hf + "_scale_inv");
    return Status::Ok();
  }

  // A plain tensor: same elements, GGUF shape is the HF shape reversed.
  Status copy(const std::string& hf, const Shape& hf_shape, const std::string& gguf,
              TensorOp op = TensorOp::kCopy, int64_t n_head = 0) {
    WHALE_TRY(expect(hf, hf_shape));
    plan_.push_back({gguf, reversed(hf_shape), op, {hf}, n_head});
    return Status::Ok();
  }

  // Copies when present (optional biases, router correction bias).
  Status copy_if_present(const std::string& hf, const Shape& hf_shape, const std::string& gguf,
                         TensorOp op = TensorOp::kCopy, int64_t n_head = 0) {
    if (!ck_.find(hf)) return Status::Ok();
    return copy(hf, hf_shape, gguf, op, n_head);
  }

  void add(PlannedTensor t) { plan_.push_back(std::move(t)); }
  void skip(const std::string& hf) { used_.insert(hf); }
  bool has(const std::string& hf) const { return ck_.find(hf) != nullptr; }

  Result<std::vector<PlannedTensor>> finish() {
    for (const auto& [name, t] : ck_.tensors())
      if (!used_.count(name))
        return make_error("don't know how to convert tensor '%s' %s", name.c_str(),
                          shape_text(t->shape).c_str());
    return std::move(plan_);
  }

 private:
  const HfCheckpoint& ck_;
  std::vector<PlannedTensor> plan_;
  std::set<std::string> used_;
};

Status plan_standard_attention(Planner& p, const ModelConfig& c, const std::string& hf,
                               const std::string& blk) {
  const uint64_t H = uint64_t(c.hidden_size), hd = uint64_t(c.head_dim());
  const uint64_t nq = uint64_t(c.num_attention_heads) * hd;
  const uint64_t nkv = uint64_t(c.num_key_value_heads) * hd;
  // llama.cpp's llama converter permutes q with n_head and k with n_head_kv; qwen2 uses the
  // NEOX rope layout and is copied as is.
  const bool permute = c.arch == ModelArch::llama;
  const TensorOp rope_op = permute ? TensorOp::kPermuteRope : TensorOp::kCopy;
  WHALE_TRY(p.copy(hf + "self_attn.q_proj.weight", {nq, H}, blk + "attn_q.weight", rope_op,
                   c.num_attention_heads));
  WHALE_TRY(p.copy(hf + "self_attn.k_proj.weight", {nkv, H}, blk + "attn_k.weight", rope_op,
                   c.num_key_value_heads));
  WHALE_TRY(p.copy(hf + "self_attn.v_proj.weight", {nkv, H}, blk + "attn_v.weight"));
  WHALE_TRY(p.copy(hf + "self_attn.o_proj.weight", {H, nq}, blk + "attn_output.weight"));
  if (c.attention_bias) {
    WHALE_TRY(p.copy(hf + "self_attn.q_proj.bias", {nq}, blk + "attn_q.bias", rope_op,
                     c.num_attention_heads));
    WHALE_TRY(p.copy(hf + "self_attn.k_proj.bias", {nkv}, blk + "attn_k.bias", rope_op,
                     c.num_key_value_heads));
    WHALE_TRY(p.copy(hf + "self_attn.v_proj.bias", {nkv}, blk + "attn_v.bias"));
    WHALE_TRY(p.copy_if_present(hf + "self_attn.o_proj.bias", {H}, blk + "attn_output.bias"));
  }
  return Status::Ok();
}

Status plan_mla_attention(Planner& p, const ModelConfig& c, const std::string& hf,
                          const std::string& blk) {
  const uint64_t H = uint64_t(c.hidden_size), nh = uint64_t(c.num_attention_heads);
  const uint64_t nope = uint64_t(c.qk_nope_head_dim), rope = uint64_t(c.qk_rope_head_dim);
  const uint64_t v = uint64_t(c.v_head_dim), kv_lora = uint64_t(c.kv_lora_rank);
  const uint64_t q_lora = uint64_t(c.q_lora_rank);
  if (q_lora > 0) {
    WHALE_TRY(p.copy(hf + "self_attn.q_a_proj.weight", {q_lora, H}, blk + "attn_q_a.weight"));
    WHALE_TRY(
        p.copy(hf + "self_attn.q_a_layernorm.weight", {q_lora}, blk + "attn_q_a_norm.weight"));
    WHALE_TRY(p.copy(hf + "self_attn.q_b_proj.weight", {nh * (nope + rope), q_lora},
                     blk + "attn_q_b.weight"));
  } else {
    WHALE_TRY(
        p.copy(hf + "self_attn.q_proj.weight", {nh * (nope + rope), H}, blk + "attn_q.weight"));
  }
  WHALE_TRY(p.copy(hf + "self_attn.kv_a_proj_with_mqa.weight", {kv_lora + rope, H},
                   blk + "attn_kv_a_mqa.weight"));
  WHALE_TRY(
      p.copy(hf + "self_attn.kv_a_layernorm.weight", {kv_lora}, blk + "attn_kv_a_norm.weight"));
  const std::string kv_b = hf + "self_attn.kv_b_proj.weight";
  WHALE_TRY(p.expect(kv_b, {nh * (nope + v), kv_lora}));
  p.add({blk + "attn_k_b.weight", {nope, kv_lora, nh}, TensorOp::kSplitKB, {kv_b}, 0});
  p.add({blk + "attn_v_b.weight", {kv_lora, v, nh}, TensorOp::kSplitVB, {kv_b}, 0});
  WHALE_TRY(p.copy(hf + "self_attn.o_proj.weight", {H, nh * v}, blk + "attn_output.weight"));
  return Status::Ok();
}

Status plan_dense_ffn(Planner& p, const ModelConfig& c, const std::string& hf,
                      const std::string& blk) {
  const uint64_t H = uint64_t(c.hidden_size), I = uint64_t(c.intermediate_size);
  WHALE_TRY(p.copy(hf + "mlp.gate_proj.weight", {I, H}, blk + "ffn_gate.weight"));
  WHALE_TRY(p.copy(hf + "mlp.up_proj.weight", {I, H}, blk + "ffn_up.weight"));
  WHALE_TRY(p.copy(hf + "mlp.down_proj.weight", {H, I}, blk + "ffn_down.weight"));
  return Status::Ok();
}

Status plan_moe_ffn(Planner& p, const ModelConfig& c, const std::string& hf,
                    const std::string& blk) {
  const uint64_t H = uint64_t(c.hidden_size), I = uint64_t(c.moe_intermediate_size);
  const uint64_t E = uint64_t(c.n_routed_experts);
  WHALE_TRY(p.copy(hf + "mlp.gate.weight", {E, H}, blk + "ffn_gate_inp.weight"));
  WHALE_TRY(
      p.copy_if_present(hf + "mlp.gate.e_score_correction_bias", {E}, blk + "exp_probs_b.bias"));
  struct Proj {
    const char* hf;
    const char* gguf;
    Shape shape;  // one expert, row-major
  };
  const Proj projs[] = {{"gate_proj", "ffn_gate", {I, H}},
                        {"up_proj", "ffn_up", {I, H}},
                        {"down_proj", "ffn_down", {H, I}}};
  for (const auto& pr : projs) {
    PlannedTensor t{blk + pr.gguf + "_exps.weight",
                    {pr.shape[1], pr.shape[0], E},
                    TensorOp::kStackExperts,
                    {},
                    0};
    for (uint64_t e = 0; e < E; ++e) {
      std::string name = hf + "mlp.experts." + std::to_string(e) + "." + pr.hf + ".weight";
      WHALE_TRY(p.expect(name, pr.shape));
      t.inputs.push_back(name);
    }
    p.add(std::move(t));
  }
  if (c.n_shared_experts > 0) {
    const uint64_t S = I * uint64_t(c.n_shared_experts);
    WHALE_TRY(
        p.copy(hf + "mlp.shared_experts.gate_proj.weight", {S, H}, blk + "ffn_gate_shexp.weight"));
    WHALE_TRY(
        p.copy(hf + "mlp.shared_experts.up_proj.weight", {S, H}, blk + "ffn_up_shexp.weight"));
    WHALE_TRY(
        p.copy(hf + "mlp.shared_experts.down_proj.weight", {H, S}, blk + "ffn_down_shexp.weight"));
  }
  return Status::Ok();
}

// "model.layers.<n>." prefix -> n, or -1.
int64_t layer_index(const std::string& name) {
  const std::string prefix = "model.layers.";
  if (name.compare(0, prefix.size(), prefix) != 0) return -1;
  int64_t n = 0;
  size_t i = prefix.size();
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    n = n * 10 + (name[i] - '0');
    if (n > (1 << 20)) return -1;
  }
  return n;
}

}  // namespace

uint64_t PlannedTensor::n_elements() const {
  uint64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

Result<std::vector<PlannedTensor>> plan_gguf_tensors(const HfCheckpoint& ck) {
  const ModelConfig& c = ck.config();
  Planner p(ck);
  const uint64_t H = uint64_t(c.hidden_size), V = uint64_t(c.vocab_size);
  if (c.arch == ModelArch::llama && c.rope_scaling_type == "llama3")
    p.add({"rope_freqs.weight", {uint64_t(c.head_dim() / 2)}, TensorOp::kRopeFreqs, {}, 0});
  WHALE_TRY(p.copy("model.embed_tokens.weight", {V, H}, "token_embd.weight"));
  for (int64_t il = 0; il < c.num_hidden_layers; ++il) {
    const std::string hf = "model.layers." + std::to_string(il) + ".";
    const std::string blk = "blk." + std::to_string(il) + ".";
    WHALE_TRY(p.copy(hf + "input_layernorm.weight", {H}, blk + "attn_norm.weight"));
    if (c.is_mla()) {
      WHALE_TRY(plan_mla_attention(p, c, hf, blk));
    } else {
      WHALE_TRY(plan_standard_attention(p, c, hf, blk));
    }
    WHALE_TRY(p.copy(hf + "post_attention_layernorm.weight", {H}, blk + "ffn_norm.weight"));
    // llama.cpp's deepseek2 loader makes every layer after the leading dense ones MoE.
    if (c.has_moe() && il >= c.first_k_dense_replace) {
      WHALE_TRY(plan_moe_ffn(p, c, hf, blk));
    } else {
      WHALE_TRY(plan_dense_ffn(p, c, hf, blk));
    }
  }
  WHALE_TRY(p.copy("model.norm.weight", {H}, "output_norm.weight"));
  if (c.tie_word_embeddings) {
    p.skip("lm_head.weight");
  } else {
    WHALE_TRY(p.copy_if_present("lm_head.weight", {V, H}, "output.weight"));
  }
  for (const auto& [name, t] : ck.tensors()) {
    // MTP layers follow the trunk (model.layers.<num_hidden_layers>...): llama.cpp's converter
    // drops them, and so do we. Rotary caches are recomputed at run time.
    if (layer_index(name) >= c.num_hidden_layers) p.skip(name);
    if (name.size() >= 21 && name.compare(name.size() - 21, 21, ".rotary_emb.inv_freq") == 0)
      p.skip(name);
  }
  return p.finish();
}

int64_t rope_permuted_source_row(int64_t r, int64_t rows, int64_t n_head) {
  const int64_t hd = rows / n_head, half = hd / 2;
  const int64_t h = r / hd, w = r % hd;
  return h * hd + (w % 2) * half + w / 2;
}

std::vector<float> llama3_rope_factors(const ModelConfig& c) {
  // The same float32 arithmetic as llama.cpp's converter (LlamaModel.generate_extra_tensors).
  const int64_t dim = c.head_dim();
  const float base = float(c.rope_theta);
  const float factor = float(c.rope_scaling_factor);
  const float low = float(c.rope_low_freq_factor), high = float(c.rope_high_freq_factor);
  const double old_ctx = c.rope_original_max_position_embeddings > 0
                             ? double(c.rope_original_max_position_embeddings)
                             : 8192.0;
  const double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
  std::vector<float> out;
  for (int64_t i = 0; i < dim; i += 2) {
    float freq = 1.0f / std::pow(base, float(i) / float(dim));
    float wavelen = float(2.0 * M_PI) / freq;
    if (wavelen < high_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      out.push_back(factor);
    } else {
      float smooth = (float(old_ctx) / wavelen - low) / (high - low);
      out.push_back(1.0f / ((1.0f - smooth) / factor + smooth));
    }
  }
  return out;
}

Status produce_f32(const PlannedTensor& t, const HfCheckpoint& ck, std::vector<float>& out) {
  const ModelConfig& c = ck.config();
  out.resize(size_t(t.n_elements()));
  switch (t.op) {
    case TensorOp::kCopy: {
      std::vector<float> src;
      WHALE_TRY(ck.read_f32(t.inputs.at(0), src));
      out = std::move(src);
      return Status::Ok();
    }
    case TensorOp::kPermuteRope: {
      std::vector<float> src;
      WHALE_TRY(ck.read_f32(t.inputs.at(0), src));
      const int64_t rows = int64_t(t.shape.size() == 1 ? t.shape[0] : t.shape[1]);
      const int64_t cols = int64_t(t.shape.size() == 1 ? 1 : t.shape[0]);
      for (int64_t r = 0; r < rows; ++r) {
        int64_t s = rope_permuted_source_row(r, rows, t.n_head_for_permute);
        std::memcpy(out.data() + r * cols, src.data() + s * cols, size_t(cols) * sizeof(float));
      }
      return Status::Ok();
    }
    case TensorOp::kStackExperts: {
      const size_t per = size_t(t.shape[0] * t.shape[1]);
      std::vector<float> src;
      for (size_t e = 0; e < t.inputs.size(); ++e) {
        WHALE_TRY(ck.read_f32(t.inputs[e], src));
        std::memcpy(out.data() + e * per, src.data(), per * sizeof(float));
      }
      return Status::Ok();
    }
    case TensorOp::kSplitKB:
    case TensorOp::kSplitVB: {
      std::vector<float> kv;
      WHALE_TRY(ck.read_f32(t.inputs.at(0), kv));
      const size_t nh = size_t(c.num_attention_heads), nope = size_t(c.qk_nope_head_dim);
      const size_t v = size_t(c.v_head_dim), lora = size_t(c.kv_lora_rank);
      for (size_t h = 0; h < nh; ++h) {
        const float* head = kv.data() + h * (nope + v) * lora;  // [nope + v][lora]
        if (t.op == TensorOp::kSplitKB) {
          float* dst = out.data() + h * lora * nope;  // [lora][nope]: k_b transposed
          for (size_t l = 0; l < lora; ++l)
            for (size_t n = 0; n < nope; ++n) dst[l * nope + n] = head[n * lora + l];
        } else {
          std::memcpy(out.data() + h * v * lora, head + nope * lora, v * lora * sizeof(float));
        }
      }
      return Status::Ok();
    }
    case TensorOp::kRopeFreqs:
      out = llama3_rope_factors(c);
      return Status::Ok();
  }
  return make_error("internal: unknown tensor op");
}

}  // namespace whale
