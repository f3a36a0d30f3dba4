// Internals of Tokenizer shared by its loaders (tokenizer_json.cpp, tokenizer_gguf.cpp).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"

namespace whale {

// Largest id accepted from a file: bounds the memory a hostile file can make us allocate.
constexpr int64_t kMaxTokenId = (int64_t(1) << 24) - 1;

struct TokenizerImpl {
  BpeModel model;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  bool byte_level_decoder = true;
  AddedTokenMatcher raw_added;         // normalized == false
  AddedTokenMatcher normalized_added;  // normalized == true
  std::vector<AddedToken> added;
  std::vector<std::string> id_to_text;  // model vocab, overridden by added tokens
  std::vector<uint8_t> special;         // per id
  std::unordered_map<std::string, int32_t> added_by_text;
  std::optional<int32_t> bos, eos, eot;
  bool add_bos = false;

  explicit TokenizerImpl(BpeModel m) : model(std::move(m)) {}
};

// Completes a TokenizerImpl whose model, normalizer, pre-tokenizer and `added` are set: builds
// the id table and the added-token matchers, checks ids, and picks eot.
Status finish_tokenizer(TokenizerImpl& t);

}  // namespace whale
