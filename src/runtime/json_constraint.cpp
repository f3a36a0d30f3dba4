#include "runtime/json_constraint.h"

#include <cstring>
#include <limits>

namespace whale {
namespace {

bool is_ws(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(uint8_t c) {
  return c >= '0' && c <= '9';
}
bool is_hex(uint8_t c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

bool JsonPrefix::feed(std::string_view bytes) {
  for (char ch : bytes)
    if (!step(uint8_t(ch))) return false;
  return true;
}

bool JsonPrefix::after_value() {
  if (stack_.empty()) {
    mode_ = Mode::kDone;
    return true;
  }
  mode_ = stack_.back() == '{' ? Mode::kObjectNext : Mode::kArrayNext;
  return true;
}

bool JsonPrefix::start_value(uint8_t c) {
  // The top level must be an object.
  if (stack_.empty() && c != '{') return false;
  if (stack_.size() >= 64 && (c == '{' || c == '[')) return false;  // bound the nesting
  switch (c) {
    case '{':
      stack_ += '{';
      mode_ = Mode::kObjectFirst;
      return true;
    case '[':
      stack_ += '[';
      mode_ = Mode::kArrayFirst;
      return true;
    case '"':
      key_ = false;
      mode_ = Mode::kString;
      return true;
    case '-':
      mode_ = Mode::kNumMinus;
      return true;
    case '0':
      mode_ = Mode::kNumZero;
      return true;
    case 't':
      literal_ = "rue";
      mode_ = Mode::kLiteral;
      return true;
    case 'f':
      literal_ = "alse";
      mode_ = Mode::kLiteral;
      return true;
    case 'n':
      literal_ = "ull";
      mode_ = Mode::kLiteral;
      return true;
    default:
      if (c >= '1' && c <= '9') {
        mode_ = Mode::kNumInt;
        return true;
      }
      return false;
  }
}

bool JsonPrefix::end_number_then(uint8_t c) {
  after_value();
  return step(c);
}

bool JsonPrefix::step(uint8_t c) {
  const bool structural_ws = mode_ == Mode::kValue || mode_ == Mode::kObjectFirst ||
                             mode_ == Mode::kObjectKey || mode_ == Mode::kColon ||
                             mode_ == Mode::kObjectNext || mode_ == Mode::kArrayFirst ||
                             mode_ == Mode::kArrayNext;
  if (structural_ws && is_ws(c)) {
    if (stack_.empty() && mode_ == Mode::kValue) return false;  // the object starts at once
    return ++spaces_ <= kMaxWhitespace;
  }
  if (structural_ws) spaces_ = 0;
  switch (mode_) {
    case Mode::kDone:
      return false;
    case Mode::kValue:
      return start_value(c);
    case Mode::kObjectFirst:
      if (c == '}') {
        stack_.pop_back();
        return after_value();
      }
      [[fallthrough]];
    case Mode::kObjectKey:
      if (c != '"') return false;
      key_ = true;
      mode_ = Mode::kString;
      return true;
    case Mode::kColon:
      if (c != ':') return false;
      mode_ = Mode::kValue;
      return true;
    case Mode::kObjectNext:
      if (c == ',') {
        mode_ = Mode::kObjectKey;
        return true;
      }
      if (c != '}') return false;
      stack_.pop_back();
      return after_value();
    case Mode::kArrayFirst:
      if (c == ']') {
        stack_.pop_back();
        return after_value();
      }
      return start_value(c);
    case Mode::kArrayNext:
      if (c == ',') {
        mode_ = Mode::kValue;
        return true;
      }
      if (c != ']') return false;
      stack_.pop_back();
      return after_value();
    case Mode::kString:
      if (utf8_left_) {
        if ((c & 0xC0) != 0x80) return false;
        --utf8_left_;
        return true;
      }
      if (c == '"') {
        if (key_) {
          mode_ = Mode::kColon;
          return true;
        }
        return after_value();
      }
      if (c == '\\') {
        mode_ = Mode::kEscape;
        return true;
      }
      if (c < 0x20) return false;
      if (c < 0x80) return true;
      if (c >= 0xC2 && c <= 0xDF)
        utf8_left_ = 1;
      else if (c >= 0xE0 && c <= 0xEF)
        utf8_left_ = 2;
      else if (c >= 0xF0 && c <= 0xF4)
        utf8_left_ = 3;
      else
        return false;
      return true;
    case Mode::kEscape:
      if (c == 'u') {
        hex_left_ = 4;
        mode_ = Mode::kUnicode;
        return true;
      }
      if (!std::strchr("\"\\/bfnrt", c) || c == 0) return false;
      mode_ = Mode::kString;
      return true;
    case Mode::kUnicode:
      if (!is_hex(c)) return false;
      if (--hex_left_ == 0) mode_ = Mode::kString;
      return true;
    case Mode::kNumMinus:
      if (c == '0')
        mode_ = Mode::kNumZero;
      else if (c >= '1' && c <= '9')
        mode_ = Mode::kNumInt;
      else
        return false;
      return true;
    case Mode::kNumZero:
    case Mode::kNumInt:
      if (mode_ == Mode::kNumInt && is_digit(c)) return true;
      if (c == '.') {
        mode_ = Mode::kNumDot;
        return true;
      }
      if (c == 'e' || c == 'E') {
        mode_ = Mode::kNumExp;
        return true;
      }
      return end_number_then(c);
    case Mode::kNumDot:
      if (!is_digit(c)) return false;
      mode_ = Mode::kNumFrac;
      return true;
    case Mode::kNumFrac:
      if (is_digit(c)) return true;
      if (c == 'e' || c == 'E') {
        mode_ = Mode::kNumExp;
        return true;
      }
      return end_number_then(c);
    case Mode::kNumExp:
      if (c == '+' || c == '-') {
        mode_ = Mode::kNumExpSign;
        return true;
      }
      [[fallthrough]];
    case Mode::kNumExpSign:
      if (!is_digit(c)) return false;
      mode_ = Mode::kNumExpDigits;
      return true;
    case Mode::kNumExpDigits:
      if (is_digit(c)) return true;
      return end_number_then(c);
    case Mode::kLiteral:
      if (c != uint8_t(*literal_)) return false;
      if (*++literal_ == 0) return after_value();
      return true;
  }
  return false;
}

bool JsonConstraint::mask(std::span<float> logits) const {
  bool any = false;
  const size_t n = std::min(logits.size(), token_bytes_->size());
  for (size_t id = 0; id < logits.size(); ++id) {
    bool ok = false;
    if (id < n) {
      const std::string& b = (*token_bytes_)[id];
      if (!b.empty()) {
        JsonPrefix trial = state_;
        ok = trial.feed(b);
      }
    }
    if (!ok)
      logits[id] = -std::numeric_limits<float>::infinity();
    else
      any = any || logits[id] > -std::numeric_limits<float>::infinity();
  }
  return any;
}

void JsonConstraint::accept(int32_t token) {
  if (token >= 0 && size_t(token) < token_bytes_->size())
    state_.feed((*token_bytes_)[size_t(token)]);
}

}  // namespace whale
