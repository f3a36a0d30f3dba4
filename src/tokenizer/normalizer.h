// The tokenizer.json "normalizer": applied to text outside added tokens before
// pre-tokenization. whale supports what byte-level BPE models use: none, NFC, and Sequence of
// those; anything else is refused when the tokenizer is loaded.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "platform/result.h"

namespace whale {

class Normalizer {
 public:
  // j: the "normalizer" value (null allowed). May throw nlohmann::json exceptions on a
  // malformed value; Tokenizer::from_json catches them.
  static Result<Normalizer> from_json(const nlohmann::json& j);
  static Normalizer identity() { return Normalizer(); }
  static Normalizer nfc() {
    Normalizer n;
    n.nfc_ = true;
    return n;
  }

  bool is_identity() const { return !nfc_; }
  // Returns `in` normalized; `scratch` holds the result when it differs from the input.
  std::string_view apply(std::string_view in, std::string& scratch) const;

 private:
  bool nfc_ = false;
};

}  // namespace whale
