#include "runtime/stop_strings.h"

#include <algorithm>

namespace whale {

size_t incomplete_utf8_tail(std::string_view text) {
  // Look back at most 3 bytes for a lead byte whose sequence runs past the end.
  const size_t n = text.size();
  for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
    unsigned char c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return need > back ? back : 0;
  }
  return 0;  // only continuation bytes (or nothing): not the start of a sequence we can wait on
}

StopMatcher::StopMatcher(std::vector<std::string> stop_strings) {
  for (auto& s : stop_strings)
    if (!s.empty()) stops_.push_back(std::move(s));
}

const std::string& StopMatcher::matched() const {
  static const std::string none;
  return matched_ >= 0 ? stops_[size_t(matched_)] : none;
}

void StopMatcher::push(std::string_view text, std::string& out) {
  if (stopped()) return;
  pending_.append(text);

  // Generation stops as soon as a stop string is complete, so the match that ends first wins
  // (on equal ends, the one that starts first). This depends only on the text, not on how it
  // was cut into pieces. For one stop string, its first occurrence is also its first end.
  size_t best_pos = std::string::npos, best_end = std::string::npos;
  for (size_t i = 0; i < stops_.size(); ++i) {
    size_t pos = pending_.find(stops_[i]);
    if (pos == std::string::npos) continue;
    size_t end = pos + stops_[i].size();
    if (end < best_end || (end == best_end && pos < best_pos)) {
      best_pos = pos;
      best_end = end;
      matched_ = int(i);
    }
  }
  if (best_pos != std::string::npos) {
    out.append(pending_, 0, best_pos);
    pending_.clear();
    return;
  }

  // No match: hold back the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const auto& s : stops_) {
    size_t max_len = std::min(s.size() - 1, pending_.size());
    for (size_t len = max_len; len > hold; --len) {
      if (pending_.compare(pending_.size() - len, len, s, 0, len) == 0) {
        hold = len;
        break;
      }
    }
  }
  size_t release = pending_.size() - hold;
  release -= incomplete_utf8_tail(std::string_view(pending_).substr(0, release));
  out.append(pending_, 0, release);
  pending_.erase(0, release);
}

void StopMatcher::finish(std::string& out) {
  if (stopped()) return;
  out.append(pending_);
  pending_.clear();
}

}  // namespace whale
