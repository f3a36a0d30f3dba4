#include "tokenizer/bpe.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>

#include "tokenizer/unicode.h"

namespace whale {

static uint64_t pair_key(int32_t a, int32_t b) {
  return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
}

Result<BpeModel> BpeModel::create(std::unordered_map<std::string, int32_t> vocab,
                                  const std::vector<std::pair<std::string, std::string>>& merges,
                                  BpeOptions options) {
  BpeModel m;
  m.vocab_ = std::move(vocab);
  m.opt_ = std::move(options);
  size_t prefix = m.opt_.continuing_subword_prefix.size();
  m.merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    auto ia = m.vocab_.find(a);
    auto ib = m.vocab_.find(b);
    if (ia == m.vocab_.end() || ib == m.vocab_.end())
      return make_error(
          "tokenizer: merge %zu (\"%s %s\") names a token that is not in the vocabulary", rank,
          a.substr(0, 40).c_str(), b.substr(0, 40).c_str());
    // The merged token drops the second part's continuing-subword prefix (HF semantics).
    std::string merged = a + (b.size() >= prefix ? b.substr(prefix) : b);
    auto im = m.vocab_.find(merged);
    if (im == m.vocab_.end())
      return make_error("tokenizer: merge %zu produces \"%s\", which is not in the vocabulary",
                        rank, merged.substr(0, 40).c_str());
    m.merges_[pair_key(ia->second, ib->second)] = {uint32_t(rank), im->second};
  }
  m.small_char_ids_.assign(0x800, -1);
  for (const auto& [text, id] : m.vocab_) {
    size_t pos = 0;
    if (text.empty()) continue;
    uint32_t cp = unicode::decode_utf8(text, pos);
    if (pos == text.size() && cp < 0x800 && cp != unicode::kReplacement) m.small_char_ids_[cp] = id;
  }
  if (m.opt_.unk_token) {
    auto it = m.vocab_.find(*m.opt_.unk_token);
    if (it == m.vocab_.end()) return make_error("tokenizer: unk_token is not in the vocabulary");
    m.unk_id_ = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = m.vocab_.find(name);
    m.byte_fallback_ids_[b] = it == m.vocab_.end() ? -1 : it->second;
  }
  return m;
}

BpeModel::BpeModel(BpeModel&& o) noexcept
    : vocab_(std::move(o.vocab_)),
      merges_(std::move(o.merges_)),
      small_char_ids_(std::move(o.small_char_ids_)),
      opt_(std::move(o.opt_)),
      unk_id_(o.unk_id_),
      byte_fallback_ids_(o.byte_fallback_ids_) {}

BpeModel& BpeModel::operator=(BpeModel&& o) noexcept {
  vocab_ = std::move(o.vocab_);
  merges_ = std::move(o.merges_);
  small_char_ids_ = std::move(o.small_char_ids_);
  opt_ = std::move(o.opt_);
  unk_id_ = o.unk_id_;
  byte_fallback_ids_ = o.byte_fallback_ids_;
  return *this;
}

std::optional<int32_t> BpeModel::token_id(std::string_view text) const {
  auto it = vocab_.find(std::string(text));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (opt_.ignore_merges) {
    thread_local std::string key;
    key.assign(word);
    auto it = vocab_.find(key);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  thread_local std::string key;
  key.assign(word);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t start = out.size();
  merge_word(word, out);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kCacheCapacity) cache_.clear();  // simple bound; refills with hot words
  cache_.emplace(key, std::vector<int32_t>(out.begin() + long(start), out.end()));
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  thread_local std::vector<Symbol> syms;
  syms.clear();
  // Initial symbols: one per character (with the subword prefix / word suffix variants).
  std::string piece;
  bool pending_unk = false;
  for (size_t i = 0; i < word.size();) {
    size_t begin = i;
    uint32_t cp = unicode::decode_utf8(word, i);
    bool first = begin == 0, last = i == word.size();
    int32_t id = -1;
    if (cp < 0x800 && opt_.continuing_subword_prefix.empty() && opt_.end_of_word_suffix.empty()) {
      id = small_char_ids_[cp];
    } else {
      piece.clear();
      if (!first) piece += opt_.continuing_subword_prefix;
      piece.append(word.substr(begin, i - begin));
      if (last) piece += opt_.end_of_word_suffix;
      auto it = vocab_.find(piece);
      if (it != vocab_.end()) id = it->second;
    }
    if (id < 0 && opt_.byte_fallback) {
      bool all = true;
      for (size_t k = begin; k < i; ++k) all = all && byte_fallback_ids_[uint8_t(word[k])] >= 0;
      if (all) {
        for (size_t k = begin; k < i; ++k)
          syms.push_back({byte_fallback_ids_[uint8_t(word[k])], int32_t(syms.size()) - 1,
                          int32_t(syms.size()) + 1, true});
        pending_unk = false;
        continue;
      }
    }
    if (id < 0) {
      // Unknown character: the unk token (fused with a preceding unk if asked), else dropped.
      if (unk_id_ && !(opt_.fuse_unk && pending_unk))
        syms.push_back({*unk_id_, int32_t(syms.size()) - 1, int32_t(syms.size()) + 1, true});
      pending_unk = unk_id_.has_value();
      continue;
    }
    pending_unk = false;
    syms.push_back({id, int32_t(syms.size()) - 1, int32_t(syms.size()) + 1, true});
  }
  if (syms.empty()) return;
  syms.back().next = -1;

  struct Candidate {
    uint32_t rank;
    int32_t pos;
    int32_t merged;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  thread_local std::vector<Candidate> heap;  // min-heap on (rank, position)
  heap.clear();
  auto consider = [&](int32_t pos) {
    int32_t nx = syms[pos].next;
    if (nx < 0) return;
    auto it = merges_.find(pair_key(syms[pos].id, syms[nx].id));
    if (it == merges_.end()) return;
    heap.push_back({it->second.first, pos, it->second.second});
    std::push_heap(heap.begin(), heap.end(), std::greater<Candidate>());
  };
  for (int32_t i = 0; i + 1 < int32_t(syms.size()); ++i) consider(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<Candidate>());
    Candidate c = heap.back();
    heap.pop_back();
    Symbol& left = syms[c.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = syms[left.next];
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.second != c.merged) continue;  // stale candidate
    left.id = c.merged;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) syms[right.next].prev = c.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
}

}  // namespace whale
