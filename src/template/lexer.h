// Template source -> token stream, with jinja2's whitespace rules applied here as
// Hugging Face configures them: trim_blocks (drop the newline after a block or comment tag),
// lstrip_blocks (drop spaces/tabs before a block or comment tag that starts a line),
// '-' markers (strip all whitespace on that side), '+' markers (disable the two options),
// newline normalisation and removal of one trailing newline (keep_trailing_newline=False).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace whale::tpl {

enum class TokenKind {
  Text,        // literal output
  VarBegin,    // {{
  VarEnd,      // }}
  BlockBegin,  // {%
  BlockEnd,    // %}
  Name,
  String,  // value already unescaped
  Integer,
  Float,
  Operator,
  Eof,
};

struct Token {
  TokenKind kind;
  std::string text;
  int line;
};

// Throws TemplateError on malformed input (unterminated tag or string, bad character).
std::vector<Token> tokenize(std::string_view source);

}  // namespace whale::tpl
