#include "template/text.h"

#include <algorithm>
#include <cstdio>

namespace whale::tpl {
namespace {

uint32_t upper_cp(uint32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c == 0xB5) return 0x39C;
  if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 &&
      c != 0x17F) {
    bool odd_is_lower = !((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E));
    if (odd_is_lower ? (c & 1) : !(c & 1)) return c - 1;
    return c;
  }
  if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
  if (c == 0x3C2) return 0x3A3;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

uint32_t lower_cp(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c == 0x178) return 0xFF;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 &&
      c != 0x17F) {
    bool odd_is_lower = !((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E));
    if (odd_is_lower ? !(c & 1) : (c & 1)) return c + 1;
    return c;
  }
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

bool is_cased_upper(uint32_t c) {
  return lower_cp(c) != c;
}
bool is_cased_lower(uint32_t c) {
  return upper_cp(c) != c || c == 0xDF;
}
bool is_cased(uint32_t c) {
  return is_cased_upper(c) || is_cased_lower(c);
}
bool is_alpha(uint32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= 0xC0 && c != 0xD7 && c != 0xF7 && !is_python_space(c) && c < 0x2000) ||
         (c >= 0x3040 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7A3);
}
bool is_digit(uint32_t c) {
  return c >= '0' && c <= '9';
}

std::string encode(const std::vector<uint32_t>& cps, size_t from = 0, size_t to = SIZE_MAX) {
  std::string out;
  to = std::min(to, cps.size());
  for (size_t i = from; i < to; ++i) utf8_append(out, cps[i]);
  return out;
}

bool is_line_break(uint32_t c) {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
         c == 0x85 || c == 0x2028 || c == 0x2029;
}

}  // namespace

std::string py_strip(const std::string& s, const std::string* chars, bool left, bool right) {
  auto cps = utf8_decode(s);
  std::vector<uint32_t> set;
  if (chars) set = utf8_decode(*chars);
  auto strip_it = [&](uint32_t c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : is_python_space(c);
  };
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && strip_it(cps[b])) ++b;
  if (right)
    while (e > b && strip_it(cps[e - 1])) --e;
  return encode(cps, b, e);
}

std::vector<std::string> py_split(const std::string& s, const std::string& sep, int64_t maxsplit,
                                  bool from_right) {
  std::vector<std::string> out;
  if (!from_right) {
    size_t pos = 0;
    while (maxsplit < 0 || int64_t(out.size()) < maxsplit) {
      size_t f = s.find(sep, pos);
      if (f == std::string::npos) break;
      out.push_back(s.substr(pos, f - pos));
      pos = f + sep.size();
    }
    out.push_back(s.substr(pos));
    return out;
  }
  size_t end = s.size();
  int64_t splits = 0;
  while (maxsplit < 0 || splits < maxsplit) {
    if (end < sep.size()) break;
    size_t f = s.rfind(sep, end - sep.size());
    if (f == std::string::npos) break;
    out.push_back(s.substr(f + sep.size(), end - f - sep.size()));
    end = f;
    ++splits;
  }
  out.push_back(s.substr(0, end));
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> py_split_whitespace(const std::string& s, int64_t maxsplit,
                                             bool from_right) {
  auto cps = utf8_decode(s);
  std::vector<std::string> out;
  if (!from_right) {
    size_t i = 0, n = cps.size();
    while (i < n) {
      while (i < n && is_python_space(cps[i])) ++i;
      if (i >= n) break;
      if (maxsplit >= 0 && int64_t(out.size()) >= maxsplit) {
        size_t e = n;
        while (e > i && is_python_space(cps[e - 1])) --e;
        out.push_back(encode(cps, i, e));
        break;
      }
      size_t j = i;
      while (j < n && !is_python_space(cps[j])) ++j;
      out.push_back(encode(cps, i, j));
      i = j;
    }
    return out;
  }
  int64_t i = int64_t(cps.size());
  while (i > 0) {
    while (i > 0 && is_python_space(cps[size_t(i - 1)])) --i;
    if (i <= 0) break;
    if (maxsplit >= 0 && int64_t(out.size()) >= maxsplit) {
      size_t b = 0;
      while (b < size_t(i) && is_python_space(cps[b])) ++b;
      out.push_back(encode(cps, b, size_t(i)));
      break;
    }
    int64_t j = i;
    while (j > 0 && !is_python_space(cps[size_t(j - 1)])) --j;
    out.push_back(encode(cps, size_t(j), size_t(i)));
    i = j;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> py_splitlines(const std::string& s, bool keepends) {
  auto cps = utf8_decode(s);
  std::vector<std::string> out;
  size_t start = 0, i = 0;
  while (i < cps.size()) {
    if (!is_line_break(cps[i])) {
      ++i;
      continue;
    }
    size_t brk = i;
    size_t next = i + 1;
    if (cps[i] == '\r' && next < cps.size() && cps[next] == '\n') ++next;
    out.push_back(encode(cps, start, keepends ? next : brk));
    start = i = next;
  }
  if (start < cps.size()) out.push_back(encode(cps, start));
  return out;
}

std::string py_replace(const std::string& s, const std::string& from, const std::string& to,
                       int64_t count) {
  std::string out;
  if (from.empty()) {
    auto cps = utf8_decode(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i < cps.size()) utf8_append(out, cps[i]);
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t f = s.find(from, pos);
    if (f == std::string::npos) break;
    out.append(s, pos, f - pos);
    out += to;
    pos = f + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

std::string py_upper(const std::string& s) {
  std::string out;
  for (uint32_t c : utf8_decode(s)) {
    if (c == 0xDF) {
      out += "SS";
      continue;
    }
    utf8_append(out, upper_cp(c));
  }
  return out;
}

std::string py_lower(const std::string& s) {
  std::string out;
  for (uint32_t c : utf8_decode(s)) utf8_append(out, lower_cp(c));
  return out;
}

std::string py_swapcase(const std::string& s) {
  std::string out;
  for (uint32_t c : utf8_decode(s)) utf8_append(out, is_cased_upper(c) ? lower_cp(c) : upper_cp(c));
  return out;
}

std::string py_title(const std::string& s) {
  std::string out;
  bool prev_cased = false;
  for (uint32_t c : utf8_decode(s)) {
    utf8_append(out, prev_cased ? lower_cp(c) : upper_cp(c));
    prev_cased = is_cased(c);
  }
  return out;
}

std::string jinja_title(const std::string& s) {
  std::string out;
  bool at_word_start = true;
  for (uint32_t c : utf8_decode(s)) {
    bool sep = is_python_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (sep) {
      utf8_append(out, c);
      at_word_start = true;
      continue;
    }
    utf8_append(out, at_word_start ? upper_cp(c) : lower_cp(c));
    at_word_start = false;
  }
  return out;
}

std::string py_capitalize(const std::string& s) {
  auto cps = utf8_decode(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i)
    utf8_append(out, i == 0 ? upper_cp(cps[i]) : lower_cp(cps[i]));
  return out;
}

bool py_is(const std::string& s, const std::string& which) {
  auto cps = utf8_decode(s);
  if (cps.empty()) return false;
  if (which == "islower" || which == "isupper") {
    bool any_cased = false;
    for (uint32_t c : cps) {
      if (which == "islower" && is_cased_upper(c)) return false;
      if (which == "isupper" && is_cased_lower(c)) return false;
      any_cased = any_cased || is_cased(c);
    }
    return any_cased;
  }
  for (uint32_t c : cps) {
    bool ok = which == "isspace"   ? is_python_space(c)
              : which == "isalpha" ? is_alpha(c)
              : which == "isalnum" ? (is_alpha(c) || is_digit(c))
                                   : is_digit(c);
    if (!ok) return false;
  }
  return true;
}

std::string python_percent_format(const std::string& fmt, const Value& args) {
  std::vector<Value> list;
  const Value* mapping = nullptr;
  if (args.is_tuple())
    list = args.items();
  else if (args.is_dict())
    mapping = &args;
  else
    list.push_back(args);
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (++i >= fmt.size()) throw_error("incomplete format");
    if (fmt[i] == '%') {
      out.push_back('%');
      continue;
    }
    const Value* arg = nullptr;
    if (fmt[i] == '(') {
      size_t close = fmt.find(')', i);
      if (close == std::string::npos || !mapping) throw_error("format requires a mapping");
      arg = mapping->dict_ref().find(fmt.substr(i + 1, close - i - 1));
      if (!arg) throw_error("KeyError: '" + fmt.substr(i + 1, close - i - 1) + "'");
      i = close + 1;
    }
    std::string spec = "%";
    while (i < fmt.size() && std::string("-+ #0123456789.").find(fmt[i]) != std::string::npos)
      spec += fmt[i++];
    if (i >= fmt.size()) throw_error("incomplete format");
    char conv = fmt[i];
    if (!arg) {
      if (next >= list.size()) throw_error("not enough arguments for format string");
      arg = &list[next++];
    }
    char buf[512];
    if (conv == 's' || conv == 'r' || conv == 'a') {
      std::string s = conv == 's' ? arg->to_str() : arg->repr();
      if (spec == "%") {
        out += s;
      } else {
        std::snprintf(buf, sizeof buf, (spec + "s").c_str(), s.c_str());
        out += buf;
      }
    } else if (conv == 'd' || conv == 'i' || conv == 'x' || conv == 'X' || conv == 'o') {
      if (!arg->is_number())
        throw_error("%" + std::string(1, conv) + " format: a real number is required, not " +
                    arg->type_name());
      long long v = arg->is_float() ? (long long)arg->as_float() : (long long)arg->as_int();
      std::snprintf(buf, sizeof buf, (spec + "ll" + (conv == 'i' ? 'd' : conv)).c_str(), v);
      out += buf;
    } else if (conv == 'f' || conv == 'F' || conv == 'e' || conv == 'E' || conv == 'g' ||
               conv == 'G') {
      if (!arg->is_number()) throw_error("must be real number, not " + arg->type_name());
      std::snprintf(buf, sizeof buf, (spec + conv).c_str(), arg->as_float());
      out += buf;
    } else {
      throw_error(std::string("unsupported format character '") + conv + "'");
    }
  }
  if (!mapping && next < list.size())
    throw_error("not all arguments converted during string formatting");
  return out;
}

std::string py_str_format(const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
      continue;
    }
    if (c == '}') throw_error("Single '}' encountered in format string");
    if (c != '{') {
      out += c;
      continue;
    }
    size_t close = fmt.find('}', i);
    if (close == std::string::npos) throw_error("Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    size_t colon = field.find(':');
    if (colon != std::string::npos) field = field.substr(0, colon);
    const Value* v = nullptr;
    if (field.empty()) {
      if (auto_index >= args.positional.size())
        throw_error("Replacement index " + std::to_string(auto_index) +
                    " out of range for positional args tuple");
      v = &args.positional[auto_index++];
    } else if (std::all_of(field.begin(), field.end(),
                           [](char d) { return d >= '0' && d <= '9'; })) {
      size_t idx = std::stoul(field.substr(0, 9));
      if (idx >= args.positional.size())
        throw_error("Replacement index " + field + " out of range for positional args tuple");
      v = &args.positional[idx];
    } else {
      for (const auto& [k, val] : args.keyword)
        if (k == field) v = &val;
      if (!v) throw_error("KeyError: '" + field + "'");
    }
    out += v->to_str();
    i = close;
  }
  return out;
}

}  // namespace whale::tpl
