// The tokenizer.json "pre_tokenizer": splits normalized text into words before BPE.
// Supported steps (as Hugging Face `tokenizers` defines them): Split (regex or literal pattern,
// behaviors Removed / Isolated / MergedWithPrevious / MergedWithNext / Contiguous, invert),
// Digits (individual_digits), ByteLevel (add_prefix_space, use_regex with GPT-2's pattern),
// and Sequence of these. Unknown steps are refused when loading.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/result.h"
#include "tokenizer/regex.h"

namespace whale {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Words as ranges of one code point buffer (pre-tokenization only splits, except ByteLevel's
// add_prefix_space, which appends a prefixed copy to the buffer).
struct WordList {
  std::vector<uint32_t> buf;
  std::vector<std::pair<uint32_t, uint32_t>> words;  // (offset, length) into buf
  void clear() {
    buf.clear();
    words.clear();
  }
};

class PreTokenizer {
 public:
  struct Step {
    enum Kind { Split, Digits, ByteLevel } kind = Split;
    Regex regex;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
    bool individual_digits = false;
    bool add_prefix_space = false;
    bool use_regex = false;
  };

  // j: the "pre_tokenizer" value (null allowed). May throw nlohmann::json exceptions.
  static Result<PreTokenizer> from_json(const nlohmann::json& j);
  static Result<PreTokenizer> from_steps(std::vector<Step> steps);
  // A Split step (what llama.cpp's named pre-tokenizers are made of).
  static Result<Step> split_step(std::string_view regex, SplitBehavior behavior, bool invert);
  static Step byte_level_step(bool add_prefix_space, bool use_regex);

  // Replaces `words` (initially one word per call site) by the pre-tokenized words.
  void run(WordList& words) const;
  // True when a ByteLevel step is present: words are mapped to the byte-level alphabet.
  bool byte_level() const { return byte_level_; }

 private:
  std::vector<Step> steps_;
  bool byte_level_ = false;
};

}  // namespace whale
