#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace whale {

Status finish_tokenizer(TokenizerImpl& t) {
  int64_t max_id = -1;
  for (const auto& [text, id] : t.model.vocab()) max_id = std::max<int64_t>(max_id, id);
  for (const auto& a : t.added) {
    if (a.id < 0 || a.id > kMaxTokenId)
      return make_error("tokenizer: added token id %d is out of range", int(a.id));
    if (a.content.empty())
      return make_error("tokenizer: added token %d has empty content", int(a.id));
    max_id = std::max<int64_t>(max_id, a.id);
  }
  if (max_id < 0) return make_error("tokenizer: the vocabulary is empty");
  // Ids index a table: a file claiming id 16M for a handful of tokens must not cost gigabytes.
  size_t entries = t.model.vocab().size() + t.added.size();
  if (size_t(max_id) >= 4 * entries + 65536)
    return make_error(
        "tokenizer: token ids are implausibly sparse (largest id %lld for %zu tokens)",
        (long long)max_id, entries);
  t.id_to_text.assign(size_t(max_id + 1), std::string());
  t.special.assign(size_t(max_id + 1), 0);
  for (const auto& [text, id] : t.model.vocab()) t.id_to_text[size_t(id)] = text;
  std::vector<AddedToken> raw, normalized;
  for (const auto& a : t.added) {
    t.id_to_text[size_t(a.id)] = a.content;
    t.special[size_t(a.id)] = a.special;
    t.added_by_text.emplace(a.content, a.id);
    if (a.normalized) {
      // HF matches normalized added tokens by their normalized content.
      AddedToken n = a;
      std::string scratch;
      n.content = std::string(t.normalizer.apply(a.content, scratch));
      normalized.push_back(std::move(n));
    } else {
      raw.push_back(a);
    }
  }
  t.raw_added.build(std::move(raw));
  t.normalized_added.build(std::move(normalized));
  for (const char* name : {"<|eot_id|>", "<|im_end|>", "<|end_of_turn|>", "<|eom_id|>"}) {
    auto it = t.added_by_text.find(name);
    if (it != t.added_by_text.end()) {
      t.eot = it->second;
      break;
    }
  }
  if (!t.eot) t.eot = t.eos;
  for (auto id : {t.bos, t.eos, t.eot})
    if (id && (*id < 0 || *id > max_id))
      return make_error("tokenizer: bos/eos id %d is out of range", int(*id));
  return Status::Ok();
}

namespace {

void encode_plain(const TokenizerImpl& t, std::string_view text, std::vector<int32_t>& out) {
  if (text.empty()) return;
  thread_local WordList wl;
  thread_local std::string bytes, mapped;
  wl.clear();
  for (size_t i = 0; i < text.size();) wl.buf.push_back(unicode::decode_utf8(text, i));
  wl.words.emplace_back(0, uint32_t(wl.buf.size()));
  t.pre_tokenizer.run(wl);
  for (auto [off, len] : wl.words) {
    bytes.clear();
    for (uint32_t k = 0; k < len; ++k) unicode::append_utf8(bytes, wl.buf[off + k]);
    if (t.pre_tokenizer.byte_level()) {
      mapped.clear();
      byte_level::encode(bytes, mapped);
      t.model.encode_word(mapped, out);
    } else {
      t.model.encode_word(bytes, out);
    }
  }
}

}  // namespace

void Tokenizer::encode(std::string_view text, bool parse_special, std::vector<int32_t>& out) const {
  const TokenizerImpl& t = *impl_;
  std::string fixed;
  if (!unicode::is_valid_utf8(text)) {
    fixed = unicode::to_valid_utf8(text);
    text = fixed;
  }
  thread_local std::vector<AddedTokenMatcher::Segment> raw_segs, norm_segs;
  thread_local std::string scratch;
  raw_segs.clear();
  if (t.raw_added.empty())
    raw_segs.push_back({0, text.size(), -1});
  else
    t.raw_added.split(text, !parse_special, raw_segs);
  for (const auto& seg : raw_segs) {
    if (seg.id >= 0) {
      out.push_back(seg.id);
      continue;
    }
    std::string_view piece = text.substr(seg.begin, seg.end - seg.begin);
    if (piece.empty()) continue;
    std::string_view normed = t.normalizer.apply(piece, scratch);
    if (t.normalized_added.empty()) {
      encode_plain(t, normed, out);
      continue;
    }
    t.normalized_added.split(normed, !parse_special, norm_segs);
    for (const auto& n : norm_segs) {
      if (n.id >= 0)
        out.push_back(n.id);
      else
        encode_plain(t, normed.substr(n.begin, n.end - n.begin), out);
    }
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  std::vector<int32_t> out;
  encode(text, parse_special, out);
  return out;
}

std::string Tokenizer::token_bytes(int32_t id) const {
  if (!is_valid_id(id)) return {};
  const std::string& s = impl_->id_to_text[size_t(id)];
  if (!impl_->byte_level_decoder) return s;
  // ByteLevel decoder: a token whose characters are all in the byte alphabet becomes those
  // bytes; any other token (e.g. "<｜end▁of▁sentence｜>") passes through as its UTF-8.
  std::string out;
  for (size_t i = 0; i < s.size();) {
    int b = byte_level::char_to_byte(unicode::decode_utf8(s, i));
    if (b < 0) return s;
    out += char(b);
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string bytes;
  for (int32_t id : ids) bytes += token_bytes(id);
  return unicode::is_valid_utf8(bytes) ? bytes : unicode::to_valid_utf8(bytes);
}

size_t Tokenizer::vocab_size() const {
  return impl_->id_to_text.size();
}
bool Tokenizer::is_valid_id(int32_t id) const {
  return id >= 0 && size_t(id) < impl_->id_to_text.size();
}
const std::string& Tokenizer::token_text(int32_t id) const {
  static const std::string empty;
  return is_valid_id(id) ? impl_->id_to_text[size_t(id)] : empty;
}
bool Tokenizer::is_special(int32_t id) const {
  return is_valid_id(id) && impl_->special[size_t(id)];
}
std::optional<int32_t> Tokenizer::token_id(std::string_view text) const {
  auto it = impl_->added_by_text.find(std::string(text));
  if (it != impl_->added_by_text.end()) return it->second;
  return impl_->model.token_id(text);
}
std::optional<int32_t> Tokenizer::bos_id() const {
  return impl_->bos;
}
std::optional<int32_t> Tokenizer::eos_id() const {
  return impl_->eos;
}
std::optional<int32_t> Tokenizer::eot_id() const {
  return impl_->eot;
}
bool Tokenizer::add_bos() const {
  return impl_->add_bos;
}

std::string StreamDecoder::put(int32_t id) {
  pending_ += tok_.token_bytes(id);
  size_t keep = unicode::incomplete_utf8_tail(pending_);
  std::string_view ready(pending_.data(), pending_.size() - keep);
  std::string out =
      unicode::is_valid_utf8(ready) ? std::string(ready) : unicode::to_valid_utf8(ready);
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = unicode::to_valid_utf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace whale
