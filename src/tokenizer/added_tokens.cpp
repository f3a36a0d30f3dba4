#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace whale {

void AddedTokenMatcher::build(std::vector<AddedToken> tokens) {
  tokens_ = std::move(tokens);
  trie_.assign(1, Node{});
  std::fill(std::begin(first_byte_), std::end(first_byte_), false);
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const std::string& s = tokens_[t].content;
    if (s.empty()) continue;
    first_byte_[uint8_t(s[0])] = true;
    int32_t node = 0;
    for (char ch : s) {
      auto b = uint8_t(ch);
      auto& nx = trie_[node].next;
      auto it = std::lower_bound(
          nx.begin(), nx.end(), b,
          [](const std::pair<uint8_t, int32_t>& e, uint8_t v) { return e.first < v; });
      if (it != nx.end() && it->first == b) {
        node = it->second;
      } else {
        int32_t fresh = int32_t(trie_.size());
        nx.insert(it, {b, fresh});
        trie_.push_back(Node{});
        node = fresh;
      }
    }
    if (trie_[node].token < 0) trie_[node].token = int32_t(t);  // first definition wins
  }
}

int32_t AddedTokenMatcher::longest_at(std::string_view text, size_t pos, size_t& len) const {
  int32_t node = 0, best = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto& nx = trie_[node].next;
    auto b = uint8_t(text[i]);
    auto it = std::lower_bound(
        nx.begin(), nx.end(), b,
        [](const std::pair<uint8_t, int32_t>& e, uint8_t v) { return e.first < v; });
    if (it == nx.end() || it->first != b) break;
    node = it->second;
    if (trie_[node].token >= 0) {
      best = trie_[node].token;
      len = i + 1 - pos;
    }
  }
  return best;
}

namespace {

// Rust's char::is_alphanumeric() || '_' (what HF uses for single_word boundaries).
bool is_word_char(uint32_t cp) {
  return cp == '_' || ((unicode::kLetter | unicode::kNumber) >> unicode::category(cp)) & 1;
}
uint32_t last_char(std::string_view s) {
  size_t i = s.size();
  while (i > 0 && (uint8_t(s[i - 1]) & 0xC0) == 0x80) --i;
  if (i > 0) --i;
  size_t p = i;
  return s.empty() ? 0 : unicode::decode_utf8(s, p);
}

}  // namespace

void AddedTokenMatcher::split(std::string_view text, bool skip_special,
                              std::vector<Segment>& out) const {
  out.clear();
  size_t done = 0;  // end of the last emitted token match
  size_t pos = 0;
  while (pos < text.size()) {
    size_t len = 0;
    int32_t t = first_byte_[uint8_t(text[pos])] ? longest_at(text, pos, len) : -1;
    if (t < 0) {
      ++pos;
      continue;
    }
    const AddedToken& tok = tokens_[t];
    size_t start = pos, stop = pos + len;
    pos = stop;  // matches never overlap, even the ones skipped below
    if (skip_special && tok.special) continue;
    if (tok.single_word) {
      bool start_ok = start == 0 || !is_word_char(last_char(text.substr(0, start)));
      size_t q = stop;
      bool stop_ok = stop == text.size() || !is_word_char(unicode::decode_utf8(text, q));
      if (!start_ok || !stop_ok) continue;
    }
    if (tok.lstrip) {  // swallow the white space before (not past the previous match)
      size_t s = start;
      while (s > done) {
        std::string_view head = text.substr(0, s);
        uint32_t c = last_char(head);
        if (!unicode::is_white_space(c)) break;
        size_t n = 1;
        while (n < s && (uint8_t(text[s - n]) & 0xC0) == 0x80) ++n;
        s -= n;
      }
      start = std::max(s, done);
    }
    if (tok.rstrip) {
      size_t q = stop;
      while (q < text.size()) {
        size_t r = q;
        if (!unicode::is_white_space(unicode::decode_utf8(text, r))) break;
        q = r;
      }
      stop = q;
      pos = std::max(pos, stop);
    }
    if (done < start) out.push_back({done, start, -1});
    out.push_back({start, stop, tok.id});
    done = stop;
  }
  if (done < text.size() || out.empty()) out.push_back({done, text.size(), -1});
}

}  // namespace whale
