// Added tokens (special and not): literal strings matched in the input before
// pre-tokenization, leftmost-longest, honouring lstrip / rstrip / single_word (Hugging Face
// AddedVocabulary semantics). Tokens with normalized=false are matched in the raw input, the
// others in the normalized text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace whale {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool lstrip = false, rstrip = false, single_word = false, normalized = false;
};

// One group of added tokens (all raw-matched or all normalized-matched).
class AddedTokenMatcher {
 public:
  void build(std::vector<AddedToken> tokens);
  bool empty() const { return tokens_.empty(); }

  struct Segment {
    size_t begin, end;
    int32_t id;  // -1: plain text
  };
  // Splits text into plain segments and token matches. With skip_special, special tokens are
  // still found (so they hide overlapping matches, as in HF) but left as plain text.
  void split(std::string_view text, bool skip_special, std::vector<Segment>& out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> next;  // sorted by byte
    int32_t token = -1;                             // index into tokens_
  };
  std::vector<AddedToken> tokens_;
  std::vector<Node> trie_;
  bool first_byte_[256] = {};
  // Longest token starting at text[pos]: index into tokens_, or -1.
  int32_t longest_at(std::string_view text, size_t pos, size_t& len) const;
};

}  // namespace whale
