// Tokenizer metadata for GGUF from a Hugging Face tokenizer.json + tokenizer_config.json, in
// the form llama.cpp's converter writes it (keys tokenizer.ggml.*), so both llama.cpp and
// whale's tokenizer read it back:
//   model "gpt2" (byte-level BPE), pre = the pre-tokenizer name llama.cpp knows (detected from
//   the Split regexes), tokens by id padded to config vocab_size with "[PAD<i>]" (type 5,
//   unused), token types (1 normal, 3 control = special added token, 4 user-defined = other
//   added token), merges "a b", bos/eos/unk/sep/pad/mask ids, add_bos/add_eos, chat template.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "platform/result.h"

namespace whale {

class GgufWriter;

struct HfTokenizerMetadata {
  std::string pre;                   // tokenizer.ggml.pre
  std::vector<std::string> tokens;   // by id, vocab_size entries
  std::vector<int32_t> token_types;  // same length
  std::vector<std::string> merges;
  std::vector<std::pair<std::string, int64_t>> special_ids;         // ("bos", id), ...
  std::vector<std::pair<std::string, bool>> add_special;            // ("bos", true), ...
  std::vector<std::pair<std::string, std::string>> chat_templates;  // ("", default), (name, t)
};

// Names the pre-tokenizer from tokenizer.json's pre_tokenizer regexes (and, to tell
// DeepSeek-R1-Distill-Qwen from Qwen2, its added tokens). Error when not recognised.
Result<std::string> detect_pretokenizer(const nlohmann::json& tokenizer_json);

// dir holds tokenizer.json and (optionally) tokenizer_config.json / chat_template.jinja.
// config_json is the model's config.json (fallback special ids), vocab_size from it.
Result<HfTokenizerMetadata> read_hf_tokenizer(const std::string& dir,
                                              const nlohmann::json& config_json,
                                              int64_t vocab_size);

void tokenizer_to_gguf(const HfTokenizerMetadata& t, GgufWriter& w);

}  // namespace whale
