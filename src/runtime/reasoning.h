// Splitting DeepSeek-R1 style output, "<think>reasoning</think>answer", into its reasoning and
// its content while it streams (the server's reasoning_content, the CLI's dim thinking text).
//
// The output may start either with "<think>" (the model opens the block itself) or already
// inside the block: R1 chat templates since 2025 end the generation prompt with "<think>\n",
// so the model's first token is reasoning and only "</think>" appears. Construct with
// starts_in_reasoning = true in that case (see prompt_opens_reasoning()). If the output does
// not open a block, everything is content (models that answer without thinking).
//
// Tags may arrive split across tokens ("</th" + "ink>"): text that could still be the start
// of a tag is held back until the next piece decides. Whitespace right after "<think>" and
// right after "</think>" (the model's "\n" / "\n\n" separators) and right before "</think>"
// is dropped, as DeepSeek's API returns reasoning_content and content.
#pragma once

#include <string>
#include <string_view>

namespace whale {

class ReasoningSplitter {
 public:
  explicit ReasoningSplitter(bool starts_in_reasoning, std::string open_tag = "<think>",
                             std::string close_tag = "</think>");

  // Routes `text` into reasoning / content (appends to both outputs).
  void push(std::string_view text, std::string& reasoning, std::string& content);
  // End of output: releases held-back text (an unterminated block stays reasoning).
  void finish(std::string& reasoning, std::string& content);

  bool in_reasoning() const { return state_ == State::kReasoning; }
  // True once a reasoning block was seen (opened in the prompt or by the model).
  bool had_reasoning() const { return had_reasoning_; }

 private:
  enum class State { kStart, kReasoning, kContent };
  void step(std::string& reasoning, std::string& content);

  std::string open_, close_;
  State state_;
  bool had_reasoning_;
  bool skip_leading_space_;  // at the start of a reasoning or content section
  std::string pending_;      // held back: maybe the start of a tag, or trailing whitespace
};

// Whether a rendered prompt leaves the model inside a reasoning block: it ends with "<think>"
// plus optional whitespace.
bool prompt_opens_reasoning(std::string_view prompt, std::string_view open_tag = "<think>");

}  // namespace whale
