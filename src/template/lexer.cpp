#include "template/lexer.h"

#include <cctype>
#include <cstring>

#include "template/value.h"

namespace whale::tpl {
namespace {

// jinja2 splits the source on \r\n, \r and \n, drops one trailing empty line and joins
// with \n: every newline becomes \n and one final newline disappears.
std::string normalize_newlines(std::string_view src) {
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out.push_back(src[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// Length in bytes of the Python-whitespace code point starting at s[i], or 0.
size_t space_at(std::string_view s, size_t i) {
  unsigned char c = s[i];
  if (c < 0x80) return is_python_space(c) ? 1 : 0;
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  if (i + n > s.size()) return 0;
  auto cps = utf8_decode(s.substr(i, n));
  return (cps.size() == 1 && is_python_space(cps[0])) ? n : 0;
}

// str.rstrip() with Python's notion of whitespace.
void rstrip_python(std::string& s) {
  auto cps = utf8_decode(s);
  size_t keep = cps.size();
  while (keep > 0 && is_python_space(cps[keep - 1])) --keep;
  if (keep == cps.size()) return;
  std::string out;
  for (size_t i = 0; i < keep; ++i) utf8_append(out, cps[i]);
  s = std::move(out);
}

class Lexer {
 public:
  explicit Lexer(std::string src) : s_(std::move(src)) {}

  std::vector<Token> run() {
    bool line_starting = true;
    while (pos_ < s_.size()) {
      size_t start = find_tag_start(pos_);
      std::string text = s_.substr(pos_, start - pos_);
      int text_line = line_;
      advance_to(start);
      if (start >= s_.size()) {
        emit_text(std::move(text), text_line);
        break;
      }
      char kind = s_[start + 1];  // '{', '%' or '#'
      char marker = start + 2 < s_.size() ? s_[start + 2] : '\0';
      if (marker == '-') {
        rstrip_python(text);
      } else if (kind != '{' && marker != '+') {
        size_t nl = text.rfind('\n');
        size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if (l_pos > 0 || line_starting) {
          bool only_blank = true;
          for (size_t i = l_pos; i < text.size(); ++i)
            if (text[i] != ' ' && text[i] != '\t') only_blank = false;
          if (only_blank) text.resize(l_pos);
        }
      }
      emit_text(std::move(text), text_line);
      size_t body = start + 2 + ((marker == '-' || marker == '+') ? 1 : 0);
      advance_to(body);
      if (kind == '#') {
        line_starting = lex_comment();
      } else if (kind == '{') {
        out_.push_back({TokenKind::VarBegin, "{{", line_});
        line_starting = lex_tag(TokenKind::VarEnd);
      } else {
        size_t before = out_.size();
        out_.push_back({TokenKind::BlockBegin, "{%", line_});
        line_starting = lex_tag(TokenKind::BlockEnd);
        if (out_.size() == before + 3 && out_[before + 1].kind == TokenKind::Name &&
            out_[before + 1].text == "raw")
          line_starting = lex_raw(before);
      }
    }
    out_.push_back({TokenKind::Eof, "", line_});
    return std::move(out_);
  }

 private:
  size_t find_tag_start(size_t from) const {
    for (size_t i = from; i + 1 < s_.size(); ++i)
      if (s_[i] == '{' && (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#')) return i;
    return s_.size();
  }

  void advance_to(size_t p) {
    for (; pos_ < p && pos_ < s_.size(); ++pos_)
      if (s_[pos_] == '\n') ++line_;
  }

  void emit_text(std::string text, int line) {
    if (!text.empty()) out_.push_back({TokenKind::Text, std::move(text), line});
  }

  // After a closing delimiter: '-' strips all following whitespace, '+' keeps everything,
  // otherwise trim_blocks drops one newline (block and comment tags only). Returns whether
  // what was consumed ends with a newline (jinja2's "line_starting" for lstrip_blocks).
  bool after_close(char marker, bool trim_newline) {
    bool ended_with_newline = false;
    if (marker == '-') {
      while (pos_ < s_.size()) {
        size_t n = space_at(s_, pos_);
        if (!n) break;
        ended_with_newline = s_[pos_] == '\n';
        advance_to(pos_ + n);
      }
    } else if (marker != '+' && trim_newline && pos_ < s_.size() && s_[pos_] == '\n') {
      advance_to(pos_ + 1);
      ended_with_newline = true;
    }
    return ended_with_newline;
  }

  bool lex_comment() {
    size_t end = s_.find("#}", pos_);
    if (end == std::string::npos) throw_error("missing end of comment tag", line_);
    char marker = end > pos_ ? s_[end - 1] : '\0';
    advance_to(end + 2);
    return after_close(marker == '-' || marker == '+' ? marker : '\0', true);
  }

  // {% raw %} ... {% endraw %}: everything in between is literal text.
  bool lex_raw(size_t begin_index) {
    out_.resize(begin_index);
    size_t search = pos_;
    while (true) {
      size_t tag = s_.find("{%", search);
      if (tag == std::string::npos) throw_error("missing end of raw directive", line_);
      size_t p = tag + 2;
      char marker = p < s_.size() ? s_[p] : '\0';
      if (marker == '-' || marker == '+') ++p;
      while (p < s_.size() && space_at(s_, p)) ++p;
      if (s_.compare(p, 6, "endraw") != 0) {
        search = tag + 2;
        continue;
      }
      p += 6;
      while (p < s_.size() && space_at(s_, p)) ++p;
      char close_marker = '\0';
      if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) close_marker = s_[p++];
      if (s_.compare(p, 2, "%}") != 0) {
        search = tag + 2;
        continue;
      }
      std::string text = s_.substr(pos_, tag - pos_);
      if (marker == '-') rstrip_python(text);
      emit_text(std::move(text), line_);
      advance_to(p + 2);
      return after_close(close_marker, true);
    }
  }

  bool lex_tag(TokenKind end_kind) {
    const char* close = end_kind == TokenKind::VarEnd ? "}}" : "%}";
    int depth = 0;  // brackets: '}}' inside a dict literal is not the end of the tag
    while (true) {
      while (pos_ < s_.size() && space_at(s_, pos_)) advance_to(pos_ + space_at(s_, pos_));
      if (pos_ >= s_.size())
        throw_error(end_kind == TokenKind::VarEnd ? "unexpected end of template, expected '}}'"
                                                  : "unexpected end of template, expected '%}'",
                    line_);
      char c = s_[pos_];
      // closing delimiter, possibly with a '-' / '+' marker
      if (depth == 0) {
        for (char marker : {'-', '+', '\0'}) {
          size_t p = pos_ + (marker ? 1 : 0);
          if (marker && c != marker) continue;
          if (s_.compare(p, 2, close) == 0) {
            out_.push_back({end_kind, close, line_});
            advance_to(p + 2);
            return after_close(marker, end_kind == TokenKind::BlockEnd);
          }
        }
      }
      int line = line_;
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t p = pos_;
        while (p < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[p])) || s_[p] == '_'))
          ++p;
        out_.push_back({TokenKind::Name, s_.substr(pos_, p - pos_), line});
        advance_to(p);
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        lex_number(line);
      } else if (c == '\'' || c == '"') {
        lex_string(c, line);
      } else {
        static const char* ops[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/",
                                    "*",  "%",  "~",  "[",  "]",  "(",  ")", "{", "}",
                                    "<",  ">",  "=",  ".",  ":",  "|",  ",", ";"};
        const char* found = nullptr;
        for (const char* op : ops)
          if (s_.compare(pos_, std::strlen(op), op) == 0) {
            found = op;
            break;
          }
        if (!found) throw_error(std::string("unexpected char '") + c + "'", line);
        if (*found == '(' || *found == '[' || *found == '{') ++depth;
        if ((*found == ')' || *found == ']' || *found == '}') && depth > 0) --depth;
        out_.push_back({TokenKind::Operator, found, line});
        advance_to(pos_ + std::strlen(found));
      }
    }
  }

  void lex_number(int line) {
    size_t p = pos_;
    auto digits = [&]() {
      while (p < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[p])) ||
                               (s_[p] == '_' && p + 1 < s_.size() &&
                                std::isdigit(static_cast<unsigned char>(s_[p + 1])))))
        ++p;
    };
    digits();
    bool is_float = false;
    bool after_dot =
        !out_.empty() && out_.back().kind == TokenKind::Operator && out_.back().text == ".";
    if (!after_dot && p + 1 < s_.size() && s_[p] == '.' &&
        std::isdigit(static_cast<unsigned char>(s_[p + 1]))) {
      ++p;
      digits();
      is_float = true;
    }
    if (!after_dot && p < s_.size() && (s_[p] == 'e' || s_[p] == 'E')) {
      size_t q = p + 1;
      if (q < s_.size() && (s_[q] == '+' || s_[q] == '-')) ++q;
      if (q < s_.size() && std::isdigit(static_cast<unsigned char>(s_[q]))) {
        p = q;
        digits();
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = pos_; i < p; ++i)
      if (s_[i] != '_') text.push_back(s_[i]);
    out_.push_back({is_float ? TokenKind::Float : TokenKind::Integer, text, line});
    advance_to(p);
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Python unicode-escape decoding of the literal's body (what jinja2 does).
  void lex_string(char quote, int line) {
    size_t p = pos_ + 1;
    std::string value;
    while (true) {
      if (p >= s_.size()) throw_error("unexpected end of string", line);
      char c = s_[p];
      if (c == quote) break;
      if (c != '\\') {
        value.push_back(c);
        ++p;
        continue;
      }
      if (p + 1 >= s_.size()) throw_error("unexpected end of string", line);
      char e = s_[p + 1];
      p += 2;
      switch (e) {
        case '\n':
          break;
        case '\\':
          value.push_back('\\');
          break;
        case '\'':
          value.push_back('\'');
          break;
        case '"':
          value.push_back('"');
          break;
        case 'a':
          value.push_back('\a');
          break;
        case 'b':
          value.push_back('\b');
          break;
        case 'f':
          value.push_back('\f');
          break;
        case 'n':
          value.push_back('\n');
          break;
        case 'r':
          value.push_back('\r');
          break;
        case 't':
          value.push_back('\t');
          break;
        case 'v':
          value.push_back('\v');
          break;
        case 'x':
        case 'u':
        case 'U': {
          int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int k = 0; k < n; ++k) {
            int h = p < s_.size() ? hex_value(s_[p]) : -1;
            if (h < 0) throw_error("invalid \\" + std::string(1, e) + " escape in string", line);
            cp = cp * 16 + uint32_t(h);
            ++p;
          }
          if (cp > 0x10FFFF) throw_error("illegal Unicode character in string", line);
          utf8_append(value, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = uint32_t(e - '0');
            for (int k = 0; k < 2 && p < s_.size() && s_[p] >= '0' && s_[p] <= '7'; ++k, ++p)
              cp = cp * 8 + uint32_t(s_[p] - '0');
            utf8_append(value, cp);
          } else {
            value.push_back('\\');  // unknown escapes stay as written
            value.push_back(e);
          }
      }
    }
    out_.push_back({TokenKind::String, std::move(value), line});
    advance_to(p + 1);
  }

  std::string s_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> out_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
  return Lexer(normalize_newlines(source)).run();
}

}  // namespace whale::tpl
