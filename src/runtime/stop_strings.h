// Stop strings over streamed text (OpenAI `stop`): generation ends as soon as any stop string
// is complete, the output is cut where that occurrence starts, and the stop string itself is
// not part of the output. With overlapping stop strings the one that ends first wins (on
// equal ends, the one that starts first): {"abcd", "b"} on "abcd" cuts after "a", as vLLM and
// llama.cpp do when they check after each token.
//
// Tokens arrive a few bytes at a time, so a stop string can span tokens ("</" + "end>"). The
// matcher therefore holds back the longest tail of the text that is still the start of some
// stop string, and releases it as soon as the next text rules that out. It also never
// releases an incomplete UTF-8 sequence at the end, so a client never sees half a character.
//
//   StopMatcher stop({"\n\nUser:", "###"});
//   std::string out;
//   for (each decoded piece) { stop.push(piece, out); print(out); out.clear(); if (stop.stopped())
//   break; } if (!stop.stopped()) stop.finish(out);   // end of generation: release what was held
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace whale {

class StopMatcher {
 public:
  // Empty stop strings are ignored (they would match everywhere).
  explicit StopMatcher(std::vector<std::string> stop_strings = {});

  // Appends to `out` the text that can no longer be part of a stop string. After the first
  // match stopped() is true, `out` got the text up to the match, and later pushes are ignored.
  void push(std::string_view text, std::string& out);
  // No more text: appends whatever is held back (nothing after a match).
  void finish(std::string& out);

  bool stopped() const { return matched_ >= 0; }
  // The stop string that matched ("" if none).
  const std::string& matched() const;
  // Bytes currently held back.
  size_t held() const { return pending_.size(); }

 private:
  std::vector<std::string> stops_;
  std::string pending_;  // text received but not yet released
  int matched_ = -1;
};

// Length of the longest suffix of `text` that is an incomplete (but so far valid-looking)
// UTF-8 sequence: 0 when text ends on a character boundary.
size_t incomplete_utf8_tail(std::string_view text);

}  // namespace whale
