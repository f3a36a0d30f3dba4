#include "template/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace whale::tpl {

void throw_error(const std::string& message, int line) {
  throw TemplateError{line, message};
}

Value Value::undefined(std::string hint) {
  Value v;
  v.type_ = Type::Undefined;
  v.hint_ = std::move(hint);
  return v;
}

Value::Value(std::string s)
    : type_(Type::String), s_(std::make_shared<const std::string>(std::move(s))) {}

Value Value::list(List items, bool is_tuple) {
  Value v;
  v.type_ = Type::List;
  v.tuple_ = is_tuple;
  v.list_ = std::make_shared<List>(std::move(items));
  return v;
}

Value Value::dict() {
  Value v;
  v.type_ = Type::Dict;
  v.dict_ = std::make_shared<Dict>();
  return v;
}

Value Value::namespace_() {
  Value v = dict();
  v.type_ = Type::Namespace;
  return v;
}

Value Value::callable(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) {
  Value v;
  v.type_ = Type::Callable;
  v.fn_ = std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

template <typename Json>
Value Value::from_json_any(const Json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value();
    case nlohmann::json::value_t::boolean:
      return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.template get<uint64_t>();
      if (u > uint64_t(INT64_MAX)) return Value(double(u));
      return Value(int64_t(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(j.template get<double>());
    case nlohmann::json::value_t::string:
      return Value(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json_any(e));
      return list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Value d = dict();
      for (auto it = j.begin(); it != j.end(); ++it)
        d.dict_mut().entries.emplace_back(Value(it.key()), from_json_any(it.value()));
      return d;
    }
    default:
      return Value();
  }
}
template Value Value::from_json_any(const nlohmann::json&);
template Value Value::from_json_any(const nlohmann::ordered_json&);

bool Value::truthy() const {
  switch (type_) {
    case Type::Undefined:
    case Type::None:
      return false;
    case Type::Bool:
      return b_;
    case Type::Int:
      return i_ != 0;
    case Type::Float:
      return f_ != 0.0;
    case Type::String:
      return !s_->empty();
    case Type::List:
      return !list_->empty();
    case Type::Dict:
      return !dict_->entries.empty();
    default:
      return true;
  }
}

std::string Value::type_name() const {
  switch (type_) {
    case Type::Undefined:
      return "Undefined";
    case Type::None:
      return "NoneType";
    case Type::Bool:
      return "bool";
    case Type::Int:
      return "int";
    case Type::Float:
      return "float";
    case Type::String:
      return "str";
    case Type::List:
      return tuple_ ? "tuple" : "list";
    case Type::Dict:
      return "dict";
    case Type::Namespace:
      return "Namespace";
    case Type::Callable:
      return "function";
  }
  return "object";
}

// ---- UTF-8 -------------------------------------------------------------------------------

std::vector<uint32_t> utf8_decode(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    uint32_t cp = c;
    size_t n = 1;
    if (c >= 0xF0) {
      n = 4;
      cp = c & 0x07;
    } else if (c >= 0xE0) {
      n = 3;
      cp = c & 0x0F;
    } else if (c >= 0xC0) {
      n = 2;
      cp = c & 0x1F;
    }
    if (n > 1 && i + n <= s.size()) {
      for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    } else {
      n = 1;
      cp = c;  // invalid or truncated sequence: keep the byte as a code point
    }
    out.push_back(cp);
    i += n;
  }
  return out;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

bool is_python_space(uint32_t cp) {
  if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F)) return true;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// ---- printing ----------------------------------------------------------------------------

std::string python_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // sci = [-]D[.DDD]e[+-]XX
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  int exp = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char c : mant)
    if (c != '.') digits.push_back(c);
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      std::string ip = digits.substr(0, std::min<size_t>(digits.size(), size_t(exp) + 1));
      while (ip.size() < size_t(exp) + 1) ip.push_back('0');
      std::string fp = digits.size() > size_t(exp) + 1 ? digits.substr(exp + 1) : "0";
      out += ip + "." + fp;
    } else {
      out += "0." + std::string(size_t(-exp - 1), '0') + digits;
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += eb;
  }
  return out;
}

static bool python_printable(uint32_t cp) {
  if (cp < 0x20 || cp == 0x7F) return false;
  if (cp >= 0x80 && cp <= 0xA0) return false;
  if (cp == 0xAD || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200F)) return false;
  if ((cp >= 0x2028 && cp <= 0x202F) || (cp >= 0x205F && cp <= 0x206F)) return false;
  if (cp == 0x3000 || cp == 0xFEFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  if (cp >= 0xE000 && cp <= 0xF8FF) return false;
  return true;
}

static std::string python_str_repr(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char q = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, q);
  for (uint32_t cp : utf8_decode(s)) {
    if (cp == '\\') {
      out += "\\\\";
    } else if (cp == uint32_t(q)) {
      out += '\\';
      out += q;
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (!python_printable(cp)) {
      char b[16];
      if (cp < 0x100)
        std::snprintf(b, sizeof b, "\\x%02x", cp);
      else if (cp < 0x10000)
        std::snprintf(b, sizeof b, "\\u%04x", cp);
      else
        std::snprintf(b, sizeof b, "\\U%08x", cp);
      out += b;
    } else {
      utf8_append(out, cp);
    }
  }
  out += q;
  return out;
}

std::string Value::repr() const {
  switch (type_) {
    case Type::Undefined:
      return "Undefined";
    case Type::None:
      return "None";
    case Type::Bool:
      return b_ ? "True" : "False";
    case Type::Int:
      return std::to_string(i_);
    case Type::Float:
      return python_float_repr(f_);
    case Type::String:
      return python_str_repr(*s_);
    case Type::List: {
      std::string out = tuple_ ? "(" : "[";
      for (size_t i = 0; i < list_->size(); ++i) {
        if (i) out += ", ";
        out += (*list_)[i].repr();
      }
      if (tuple_ && list_->size() == 1) out += ",";
      out += tuple_ ? ")" : "]";
      return out;
    }
    case Type::Dict:
    case Type::Namespace: {
      std::string out = type_ == Type::Namespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, v] : dict_->entries) {
        if (!first) out += ", ";
        first = false;
        out += k.repr() + ": " + v.repr();
      }
      out += type_ == Type::Namespace ? "}>" : "}";
      return out;
    }
    case Type::Callable:
      return "<function " + fn_->name + ">";
  }
  return "";
}

std::string Value::to_str() const {
  if (type_ == Type::Undefined) return "";
  if (type_ == Type::String) return *s_;
  return repr();
}

bool Value::equals(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (is_float() || o.is_float()) return as_float() == o.as_float();
    return as_int() == o.as_int();
  }
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::Undefined:
    case Type::None:
      return true;
    case Type::String:
      return *s_ == *o.s_;
    case Type::List: {
      if (tuple_ != o.tuple_ || list_->size() != o.list_->size()) return false;
      for (size_t i = 0; i < list_->size(); ++i)
        if (!(*list_)[i].equals((*o.list_)[i])) return false;
      return true;
    }
    case Type::Dict: {
      if (dict_->entries.size() != o.dict_->entries.size()) return false;
      for (const auto& [k, v] : dict_->entries) {
        const Value* ov = o.dict_->find(k);
        if (!ov || !v.equals(*ov)) return false;
      }
      return true;
    }
    case Type::Namespace:
      return dict_ == o.dict_;
    case Type::Callable:
      return fn_ == o.fn_;
    default:
      return false;
  }
}

nlohmann::json Value::to_json() const {
  switch (type_) {
    case Type::None:
      return nullptr;
    case Type::Bool:
      return b_;
    case Type::Int:
      return i_;
    case Type::Float:
      return f_;
    case Type::String:
      return *s_;
    case Type::List: {
      auto a = nlohmann::json::array();
      for (const auto& e : *list_) a.push_back(e.to_json());
      return a;
    }
    case Type::Dict: {
      auto o = nlohmann::json::object();
      for (const auto& [k, v] : dict_->entries) o[k.to_str()] = v.to_json();
      return o;
    }
    default:
      throw_error("Object of type " + type_name() + " is not JSON serializable");
  }
}

const Value* Dict::find(const Value& key) const {
  for (const auto& e : entries)
    if (e.first.equals(key)) return &e.second;
  return nullptr;
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& e : entries)
    if (e.first.is_string() && e.first.str() == key) return &e.second;
  return nullptr;
}

void Dict::set(const Value& key, Value value) {
  for (auto& e : entries)
    if (e.first.equals(key)) {
      e.second = std::move(value);
      return;
    }
  entries.emplace_back(key, std::move(value));
}

// ---- json.dumps --------------------------------------------------------------------------

static void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  for (uint32_t cp : utf8_decode(s)) {
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default: {
        char b[16];
        if (cp < 0x20 || (ensure_ascii && cp > 0x7E && cp != 0x7F)) {
          if (cp >= 0x10000) {
            uint32_t v = cp - 0x10000;
            std::snprintf(b, sizeof b, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
          } else {
            std::snprintf(b, sizeof b, "\\u%04x", cp);
          }
          out += b;
        } else {
          utf8_append(out, cp);
        }
      }
    }
  }
  out += '"';
}

static std::string json_key(const Value& k) {
  switch (k.type()) {
    case Type::String:
      return k.str();
    case Type::Bool:
      return k.as_bool() ? "true" : "false";
    case Type::None:
      return "null";
    case Type::Int:
      return std::to_string(k.as_int());
    case Type::Float:
      return python_float_repr(k.as_float());
    default:
      throw_error("keys must be str, int, float, bool or None, not " + k.type_name());
  }
}

static void json_dump_into(std::string& out, const Value& v, const JsonDumpOptions& o,
                           const std::string& unit, int depth) {
  if (depth > 500) throw_error("maximum recursion depth exceeded while encoding a JSON object");
  bool pretty = o.indent >= 0 || o.indent_is_string;
  auto newline = [&](int d) {
    out += '\n';
    for (int i = 0; i < d; ++i) out += unit;
  };
  std::string item_sep = o.separators_given ? o.item_separator : (pretty ? "," : ", ");
  switch (v.type()) {
    case Type::None:
      out += "null";
      return;
    case Type::Bool:
      out += v.as_bool() ? "true" : "false";
      return;
    case Type::Int:
      out += std::to_string(v.as_int());
      return;
    case Type::Float: {
      double d = v.as_float();
      if (std::isnan(d))
        out += "NaN";
      else if (std::isinf(d))
        out += d < 0 ? "-Infinity" : "Infinity";
      else
        out += python_float_repr(d);
      return;
    }
    case Type::String:
      json_string(out, v.str(), o.ensure_ascii);
      return;
    case Type::List: {
      if (v.items().empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& e : v.items()) {
        if (!first) out += item_sep;
        first = false;
        if (pretty) newline(depth + 1);
        json_dump_into(out, e, o, unit, depth + 1);
      }
      if (pretty) newline(depth);
      out += ']';
      return;
    }
    case Type::Dict: {
      if (v.dict_ref().entries.empty()) {
        out += "{}";
        return;
      }
      std::vector<std::pair<std::string, const Value*>> entries;
      for (const auto& [k, val] : v.dict_ref().entries) entries.emplace_back(json_key(k), &val);
      if (o.sort_keys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      bool first = true;
      for (const auto& [k, val] : entries) {
        if (!first) out += item_sep;
        first = false;
        if (pretty) newline(depth + 1);
        json_string(out, k, o.ensure_ascii);
        out += o.key_separator;
        json_dump_into(out, *val, o, unit, depth + 1);
      }
      if (pretty) newline(depth);
      out += '}';
      return;
    }
    default:
      throw_error("Object of type " + v.type_name() + " is not JSON serializable");
  }
}

std::string json_dumps(const Value& v, const JsonDumpOptions& options) {
  std::string unit = options.indent_is_string ? options.indent_string
                                              : std::string(std::max(0, options.indent), ' ');
  std::string out;
  json_dump_into(out, v, options, unit, 0);
  return out;
}

}  // namespace whale::tpl
