#include "runtime/reasoning.h"

#include <algorithm>

#include "runtime/stop_strings.h"

namespace whale {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

// Length of the longest suffix of `text` that is a proper prefix of `tag`.
size_t partial_tag_suffix(std::string_view text, std::string_view tag) {
  for (size_t len = std::min(tag.size() - 1, text.size()); len > 0; --len)
    if (text.substr(text.size() - len) == tag.substr(0, len)) return len;
  return 0;
}

}  // namespace

ReasoningSplitter::ReasoningSplitter(bool starts_in_reasoning, std::string open_tag,
                                     std::string close_tag)
    : open_(std::move(open_tag)),
      close_(std::move(close_tag)),
      state_(starts_in_reasoning ? State::kReasoning : State::kStart),
      had_reasoning_(starts_in_reasoning),
      skip_leading_space_(starts_in_reasoning) {}

void ReasoningSplitter::push(std::string_view text, std::string& reasoning, std::string& content) {
  pending_.append(text);
  step(reasoning, content);
}

void ReasoningSplitter::step(std::string& reasoning, std::string& content) {
  for (;;) {
    if (skip_leading_space_) {
      size_t first = 0;
      while (first < pending_.size() && is_space(pending_[first])) ++first;
      pending_.erase(0, first);
      if (pending_.empty()) return;
      skip_leading_space_ = false;
    }
    switch (state_) {
      case State::kStart: {
        // Whitespace before "<think>" is allowed; anything else decides "no reasoning".
        size_t first = 0;
        while (first < pending_.size() && is_space(pending_[first])) ++first;
        std::string_view rest = std::string_view(pending_).substr(first);
        if (rest.empty()) return;
        if (rest.substr(0, open_.size()) == open_) {
          pending_.erase(0, first + open_.size());
          state_ = State::kReasoning;
          had_reasoning_ = true;
          skip_leading_space_ = true;
          continue;
        }
        if (std::string_view(open_).substr(0, rest.size()) == rest) return;  // "<thi": wait
        state_ = State::kContent;
        continue;
      }
      case State::kReasoning: {
        size_t close = pending_.find(close_);
        if (close != std::string::npos) {
          size_t end = close;
          while (end > 0 && is_space(pending_[end - 1])) --end;
          reasoning.append(pending_, 0, end);
          pending_.erase(0, close + close_.size());
          state_ = State::kContent;
          skip_leading_space_ = true;
          continue;
        }
        // Hold back a possible start of "</think>" and the whitespace before it (dropped if
        // the tag follows), and never split a UTF-8 character.
        size_t release = pending_.size() - partial_tag_suffix(pending_, close_);
        while (release > 0 && is_space(pending_[release - 1])) --release;
        release -= incomplete_utf8_tail(std::string_view(pending_).substr(0, release));
        reasoning.append(pending_, 0, release);
        pending_.erase(0, release);
        return;
      }
      case State::kContent:
        content.append(pending_);
        pending_.clear();
        return;
    }
  }
}

void ReasoningSplitter::finish(std::string& reasoning, std::string& content) {
  switch (state_) {
    case State::kStart:
      // Only whitespace or a partial "<think>" arrived: it is what the model said.
      content.append(pending_);
      break;
    case State::kReasoning:
      reasoning.append(pending_);
      break;
    case State::kContent:
      if (!skip_leading_space_) content.append(pending_);
      break;
  }
  pending_.clear();
}

bool prompt_opens_reasoning(std::string_view prompt, std::string_view open_tag) {
  size_t end = prompt.size();
  while (end > 0 && is_space(prompt[end - 1])) --end;
  return end >= open_tag.size() &&
         prompt.substr(end - open_tag.size(), open_tag.size()) == open_tag;
}

}  // namespace whale
