// The BPE model of a tokenizer: vocabulary, ranked merges, and the merge loop that turns one
// pre-tokenized word into token ids (Hugging Face `tokenizers` semantics: lowest rank first,
// leftmost on ties; ignore_merges returns a word that is itself in the vocabulary as-is).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "platform/result.h"

namespace whale {

struct BpeOptions {
  bool ignore_merges = false;
  bool byte_fallback = false;  // unknown characters become <0xXX> byte tokens
  std::optional<std::string> unk_token;
  bool fuse_unk = false;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
};

class BpeModel {
 public:
  // vocab: token text -> id. merges: pairs of token texts, in rank order. Fails when a merge
  // names a token (or produces one) that is not in the vocabulary.
  static Result<BpeModel> create(std::unordered_map<std::string, int32_t> vocab,
                                 const std::vector<std::pair<std::string, std::string>>& merges,
                                 BpeOptions options);
  BpeModel(BpeModel&& o) noexcept;
  BpeModel& operator=(BpeModel&& o) noexcept;

  // Appends the ids of `word` (already in the vocabulary's alphabet, e.g. byte-level form).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  const std::unordered_map<std::string, int32_t>& vocab() const { return vocab_; }
  std::optional<int32_t> token_id(std::string_view text) const;

 private:
  BpeModel() = default;
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<uint64_t, std::pair<uint32_t, int32_t>> merges_;  // (a,b) -> (rank, merged id)
  std::vector<int32_t>
      small_char_ids_;  // one-character tokens below U+0800 (fast lookup), -1: none
  BpeOptions opt_;
  std::optional<int32_t> unk_id_;
  std::array<int32_t, 256> byte_fallback_ids_{};

  // Cache of whole words -> ids: real text repeats words constantly.
  static constexpr size_t kCacheCapacity = 1 << 16;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace whale
