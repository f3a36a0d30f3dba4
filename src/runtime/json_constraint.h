// Constrained decoding for response_format {"type": "json_object"}: the generated content must
// be one JSON object. A byte-level JSON prefix recognizer says, for every token, whether its
// bytes can continue the text so far; the scheduler masks the others before sampling and ends
// the answer as soon as the object is complete.
//
// Grammar: RFC 8259 with the top-level value restricted to an object (what json_object means),
// strings as valid UTF-8 without raw control characters, and at most kMaxWhitespace whitespace
// bytes in a row (so a model cannot pad forever).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace whale {

class JsonPrefix {
 public:
  static constexpr int kMaxWhitespace = 16;

  // Feeds bytes; false (state unchanged in meaning: callers discard the copy) if they cannot
  // continue a JSON object.
  bool feed(std::string_view bytes);
  bool complete() const { return mode_ == Mode::kDone; }

 private:
  enum class Mode : uint8_t {
    kValue,
    kObjectFirst,
    kObjectKey,
    kColon,
    kObjectNext,
    kArrayFirst,
    kArrayNext,
    kString,
    kEscape,
    kUnicode,
    kNumMinus,
    kNumZero,
    kNumInt,
    kNumDot,
    kNumFrac,
    kNumExp,
    kNumExpSign,
    kNumExpDigits,
    kLiteral,
    kDone
  };
  bool step(uint8_t c);
  bool after_value();               // a value just ended: where the container goes next
  bool end_number_then(uint8_t c);  // a delimiter after a number
  bool start_value(uint8_t c);

  std::string stack_;  // '{' / '[' of the open containers
  Mode mode_ = Mode::kValue;
  bool key_ = false;               // the string being read is an object key
  uint8_t utf8_left_ = 0;          // continuation bytes still expected in a string
  uint8_t hex_left_ = 0;           // \uXXXX digits still expected
  uint8_t spaces_ = 0;             // whitespace bytes in a row
  const char* literal_ = nullptr;  // rest of true / false / null
};

// Per-request state over a vocabulary's token bytes.
class JsonConstraint {
 public:
  // token_bytes[id]: what the token decodes to (empty for special tokens).
  explicit JsonConstraint(const std::vector<std::string>* token_bytes)
      : token_bytes_(token_bytes) {}

  // Sets logits of tokens that cannot continue the object to -inf (eos_ids stay allowed only
  // once the object is complete, which never happens here: the caller stops first). Returns
  // false if no token can continue.
  bool mask(std::span<float> logits) const;
  // The chosen token's bytes advance the state.
  void accept(int32_t token);
  bool complete() const { return state_.complete(); }

 private:
  const std::vector<std::string>* token_bytes_;
  JsonPrefix state_;
};

}  // namespace whale
