// jinja2's builtin filters, plus transformers' tojson (json.dumps without HTML escaping).
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "template/interpreter.h"
#include "template/text.h"

namespace whale::tpl {
namespace {

const char* kFilters[] = {
    "abs",       "attr",    "capitalize", "center", "count",  "d",           "default",
    "dictsort",  "e",       "escape",     "first",  "float",  "forceescape", "format",
    "indent",    "int",     "items",      "join",   "last",   "length",      "list",
    "lower",     "map",     "max",        "min",    "pprint", "reject",      "rejectattr",
    "replace",   "reverse", "round",      "safe",   "select", "selectattr",  "sort",
    "string",    "sum",     "title",      "tojson", "trim",   "unique",      "upper",
    "wordcount", "batch"};

// Positional argument i, or keyword `name`, or `fallback`.
Value arg(CallArgs& a, size_t i, const char* name, Value fallback = Value::undefined("")) {
  if (i < a.positional.size()) return a.positional[i];
  for (auto& [k, v] : a.keyword)
    if (k == name) return v;
  return fallback;
}

// obj.a.b (dotted attribute path) as jinja2's make_attrgetter does; integers index lists.
Value attr_path(Interpreter& in, const Value& obj, const std::string& path) {
  Value cur = obj;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(),
                                                [](char c) { return c >= '0' && c <= '9'; });
    cur = numeric ? in.get_item(cur, Value(int64_t(std::atoll(part.c_str()))))
                  : in.get_item(cur, Value(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// Sort key: lowercase strings unless case sensitive (jinja2's ignore_case).
Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(py_lower(v.str()));
  return v;
}

void stable_sort_values(std::vector<Value>& items, std::vector<Value>& keys, bool reverse) {
  std::vector<size_t> idx(items.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t x, size_t y) {
    return reverse ? compare_op("<", keys[y], keys[x]) : compare_op("<", keys[x], keys[y]);
  });
  std::vector<Value> out;
  for (size_t i : idx) out.push_back(items[i]);
  items = std::move(out);
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Python int(str): optional sign, digits with single underscores, surrounding whitespace.
bool parse_python_int(const std::string& text, int64_t& out) {
  std::string s = py_strip(text, nullptr, true, true);
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i >= s.size()) return false;
  __int128 v = 0;
  bool prev_digit = false;
  for (; i < s.size(); ++i) {
    if (s[i] == '_' && prev_digit && i + 1 < s.size()) {
      prev_digit = false;
      continue;
    }
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
    if (v > (__int128(1) << 64)) return false;
    prev_digit = true;
  }
  if (!prev_digit) return false;
  v = neg ? -v : v;
  if (v > INT64_MAX || v < INT64_MIN) return false;
  out = int64_t(v);
  return true;
}

bool parse_python_float(const std::string& text, double& out) {
  std::string s = py_strip(text, nullptr, true, true);
  if (s.empty()) return false;
  std::string lower = py_lower(s);
  std::string body = (lower[0] == '+' || lower[0] == '-') ? lower.substr(1) : lower;
  if (body == "inf" || body == "infinity" || body == "nan") {
    out = body == "nan" ? NAN : (lower[0] == '-' ? -INFINITY : INFINITY);
    return true;
  }
  for (char c : s)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
      return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

Value select_like(Interpreter& in, const Value& input, CallArgs& a, bool by_attr, bool keep_if) {
  size_t first = 0;
  std::string attr;
  if (by_attr) {
    Value at = arg(a, 0, "attribute");
    if (!at.is_string()) throw_error("selectattr/rejectattr need an attribute name");
    attr = at.str();
    first = 1;
  }
  std::string test;
  CallArgs test_args;
  if (a.positional.size() > first) {
    test = a.positional[first].to_str();
    test_args.positional.assign(a.positional.begin() + long(first) + 1, a.positional.end());
  }
  List out;
  for (const auto& item : iterate(input)) {
    in.step();
    Value v = by_attr ? attr_path(in, item, attr) : item;
    bool r = test.empty() ? v.truthy() : apply_test(in, test, v, test_args);
    if (r == keep_if) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value do_map(Interpreter& in, const Value& input, CallArgs& a) {
  List out;
  for (auto& [k, v] : a.keyword) {
    if (k != "attribute") continue;
    Value dflt = arg(a, 99, "default");
    for (const auto& item : iterate(input)) {
      Value r = attr_path(in, item, v.to_str());
      if (r.is_undefined() && !dflt.is_undefined()) r = dflt;
      out.push_back(r);
    }
    return Value::list(std::move(out));
  }
  if (a.positional.empty()) throw_error("map requires a filter argument");
  std::string filter = a.positional[0].to_str();
  CallArgs rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const auto& item : iterate(input)) {
    CallArgs copy = rest;
    out.push_back(apply_filter(in, filter, item, copy));
  }
  return Value::list(std::move(out));
}

}  // namespace

bool has_filter(const std::string& name) {
  for (const char* f : kFilters)
    if (name == f) return true;
  return false;
}

Value apply_filter(Interpreter& in, const std::string& name, Value v, CallArgs& a) {
  auto need_defined = [&]() {
    if (v.is_undefined()) fail_undefined(v);
  };
  if (name == "default" || name == "d") {
    Value dflt = arg(a, 0, "default_value", Value(""));
    bool boolean = arg(a, 1, "boolean", Value(false)).truthy();
    if (v.is_undefined() || (boolean && !v.truthy())) return dflt;
    return v;
  }
  if (name == "length" || name == "count") return Value(python_len(v));
  if (name == "string") return Value(v.to_str());
  if (name == "safe") return v;
  if (name == "list") return Value::list(iterate(v));
  if (name == "upper") return Value(py_upper(v.to_str()));
  if (name == "lower") return Value(py_lower(v.to_str()));
  if (name == "title") return Value(jinja_title(v.to_str()));
  if (name == "capitalize") return Value(py_capitalize(v.to_str()));
  if (name == "trim") {
    Value chars = arg(a, 0, "chars");
    return Value(py_strip(v.to_str(), chars.is_string() ? &chars.str() : nullptr, true, true));
  }
  if (name == "e" || name == "escape" || name == "forceescape")
    return Value(html_escape(v.to_str()));
  if (name == "pprint") return Value(v.repr());
  if (name == "replace") {
    Value count = arg(a, 2, "count");
    return Value(py_replace(v.to_str(), arg(a, 0, "old").to_str(), arg(a, 1, "new").to_str(),
                            count.is_int() ? count.as_int() : -1));
  }
  if (name == "wordcount") {
    int64_t words = 0;
    bool in_word = false;
    for (uint32_t c : utf8_decode(v.to_str())) {
      bool w = c == '_' || (c < 128 ? std::isalnum(int(c)) != 0 : !is_python_space(c));
      if (w && !in_word) ++words;
      in_word = w;
    }
    return Value(words);
  }
  if (name == "center") {
    int64_t width = arg(a, 0, "width", Value(80)).as_int();
    std::string s = v.to_str();
    int64_t len = int64_t(utf8_length(s));
    if (width <= len) return Value(s);
    int64_t pad = width - len, left = pad / 2 + (pad & width & 1);
    return Value(std::string(size_t(left), ' ') + s + std::string(size_t(pad - left), ' '));
  }
  if (name == "indent") {
    Value w = arg(a, 0, "width", Value(4));
    bool first = arg(a, 1, "first", Value(false)).truthy();
    bool blank = arg(a, 2, "blank", Value(false)).truthy();
    std::string ind =
        w.is_string() ? w.str() : std::string(size_t(std::max<int64_t>(0, w.as_int())), ' ');
    std::vector<std::string> lines = py_splitlines(v.to_str() + "\n", false);
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) out += "\n";
      if (i > 0 && (blank || !lines[i].empty())) out += ind;
      out += lines[i];
    }
    if (first) out = ind + out;
    return Value(std::move(out));
  }
  if (name == "format") {
    if (!a.keyword.empty()) {
      Value d = Value::dict();
      for (auto& [k, val] : a.keyword) d.dict_mut().set(Value(k), val);
      return Value(python_percent_format(v.to_str(), d));
    }
    return Value(python_percent_format(v.to_str(), Value::list(a.positional, true)));
  }
  if (name == "join") {
    Value sep = arg(a, 0, "d", Value(""));
    Value attribute = arg(a, 1, "attribute");
    std::string out;
    bool first = true;
    for (const auto& e : iterate(v)) {
      in.step();
      if (!first) out += sep.to_str();
      first = false;
      out += (attribute.is_undefined() ? e : attr_path(in, e, attribute.to_str())).to_str();
      in.check_size(out.size());
    }
    return Value(std::move(out));
  }
  if (name == "first" || name == "last") {
    std::vector<Value> items = iterate(v);
    if (items.empty())
      return Value::undefined(std::string("No ") + name + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    if (v.is_string()) {
      auto cps = utf8_decode(v.str());
      std::reverse(cps.begin(), cps.end());
      std::string s;
      for (uint32_t c : cps) utf8_append(s, c);
      return Value(std::move(s));
    }
    std::vector<Value> items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::list();
    if (!v.is_dict()) throw_error("Can only get item pairs from a mapping.");
    List out;
    for (const auto& [k, val] : v.dict_ref().entries) out.push_back(Value::list({k, val}, true));
    return Value::list(std::move(out));
  }
  if (name == "dictsort") {
    if (!v.is_dict()) throw_error("dictsort filter requires a mapping");
    bool cs = arg(a, 0, "case_sensitive", Value(false)).truthy();
    std::string by = arg(a, 1, "by", Value("key")).to_str();
    bool reverse = arg(a, 2, "reverse", Value(false)).truthy();
    if (by != "key" && by != "value")
      throw_error("You can only sort by either \"key\" or \"value\"");
    std::vector<Value> items, keys;
    for (const auto& [k, val] : v.dict_ref().entries) {
      items.push_back(Value::list({k, val}, true));
      keys.push_back(sort_key(by == "key" ? k : val, cs));
    }
    stable_sort_values(items, keys, reverse);
    return Value::list(std::move(items));
  }
  if (name == "sort") {
    bool reverse = arg(a, 0, "reverse", Value(false)).truthy();
    bool cs = arg(a, 1, "case_sensitive", Value(false)).truthy();
    Value attribute = arg(a, 2, "attribute");
    std::vector<Value> items = iterate(v), keys;
    for (const auto& e : items)
      keys.push_back(
          sort_key(attribute.is_undefined() ? e : attr_path(in, e, attribute.to_str()), cs));
    stable_sort_values(items, keys, reverse);
    return Value::list(std::move(items));
  }
  if (name == "unique") {
    bool cs = arg(a, 0, "case_sensitive", Value(false)).truthy();
    Value attribute = arg(a, 1, "attribute");
    List out, seen;
    for (const auto& e : iterate(v)) {
      Value k = sort_key(attribute.is_undefined() ? e : attr_path(in, e, attribute.to_str()), cs);
      bool dup = false;
      for (const auto& s : seen) dup = dup || s.equals(k);
      if (!dup) {
        seen.push_back(k);
        out.push_back(e);
      }
    }
    return Value::list(std::move(out));
  }
  if (name == "min" || name == "max") {
    bool cs = arg(a, 0, "case_sensitive", Value(false)).truthy();
    Value attribute = arg(a, 1, "attribute");
    std::vector<Value> items = iterate(v);
    if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
    size_t best = 0;
    for (size_t i = 1; i < items.size(); ++i) {
      Value x = sort_key(
          attribute.is_undefined() ? items[i] : attr_path(in, items[i], attribute.to_str()), cs);
      Value b = sort_key(
          attribute.is_undefined() ? items[best] : attr_path(in, items[best], attribute.to_str()),
          cs);
      if (name == "min" ? compare_op("<", x, b) : compare_op(">", x, b)) best = i;
    }
    return items[best];
  }
  if (name == "sum") {
    Value attribute = arg(a, 0, "attribute");
    Value total = arg(a, 1, "start", Value(0));
    for (const auto& e : iterate(v))
      total =
          binary_op("+", total, attribute.is_undefined() ? e : attr_path(in, e, attribute.to_str()),
                    in.limits().max_output_bytes);
    return total;
  }
  if (name == "abs") {
    need_defined();
    if (!v.is_number()) throw_error("bad operand type for abs(): '" + v.type_name() + "'");
    if (v.is_float()) return Value(std::fabs(v.as_float()));
    if (v.as_int() == INT64_MIN) throw_error("integer overflow");
    return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  if (name == "int") {
    Value dflt = arg(a, 0, "default", Value(0));
    need_defined();
    if (v.is_float()) {
      double d = v.as_float();
      if (std::isnan(d) || std::isinf(d) || std::fabs(d) > 9.2e18) return dflt;
      return Value(int64_t(d));
    }
    if (v.is_number()) return Value(v.as_int());
    if (v.is_string()) {
      int64_t i;
      if (parse_python_int(v.str(), i)) return Value(i);
      double d;
      if (parse_python_float(v.str(), d) && !std::isnan(d) && !std::isinf(d) &&
          std::fabs(d) < 9.2e18)
        return Value(int64_t(d));
    }
    return dflt;
  }
  if (name == "float") {
    Value dflt = arg(a, 0, "default", Value(0.0));
    need_defined();
    if (v.is_number()) return Value(v.as_float());
    double d;
    if (v.is_string() && parse_python_float(v.str(), d)) return Value(d);
    return dflt;
  }
  if (name == "round") {
    int64_t precision = arg(a, 0, "precision", Value(0)).as_int();
    std::string method = arg(a, 1, "method", Value("common")).to_str();
    need_defined();
    if (!v.is_number()) throw_error("type " + v.type_name() + " doesn't define __round__ method");
    double x = v.as_float(), scale = std::pow(10.0, double(precision));
    double r;
    if (method == "common")
      r = std::nearbyint(x * scale) / scale;
    else if (method == "ceil")
      r = std::ceil(x * scale) / scale;
    else if (method == "floor")
      r = std::floor(x * scale) / scale;
    else
      throw_error("method must be common, ceil or floor");
    return Value(r);
  }
  if (name == "attr") return in.get_attr(v, arg(a, 0, "name").to_str());
  if (name == "map") return do_map(in, v, a);
  if (name == "select") return select_like(in, v, a, false, true);
  if (name == "reject") return select_like(in, v, a, false, false);
  if (name == "selectattr") return select_like(in, v, a, true, true);
  if (name == "rejectattr") return select_like(in, v, a, true, false);
  if (name == "batch") {
    int64_t n = arg(a, 0, "linecount").as_int();
    if (n <= 0) throw_error("batch size must be positive");
    Value fill = arg(a, 1, "fill_with", Value());
    bool has_fill = a.positional.size() > 1;
    List out, cur;
    for (const auto& e : iterate(v)) {
      cur.push_back(e);
      if (int64_t(cur.size()) == n) {
        out.push_back(Value::list(std::move(cur)));
        cur.clear();
      }
    }
    if (!cur.empty()) {
      while (has_fill && int64_t(cur.size()) < n) cur.push_back(fill);
      out.push_back(Value::list(std::move(cur)));
    }
    return Value::list(std::move(out));
  }
  if (name == "tojson") {
    JsonDumpOptions o;
    Value indent = arg(a, 0, "indent", Value());
    if (indent.is_string()) {
      o.indent_is_string = true;
      o.indent_string = indent.str();
    } else if (indent.is_int()) {
      o.indent = int(std::clamp<int64_t>(indent.as_int(), -1, 1000));
      if (indent.as_int() < 0) {  // Python: a negative indent means newlines without indentation
        o.indent_is_string = true;
        o.indent_string.clear();
      }
    }
    Value seps = arg(a, 99, "separators", Value());
    if (seps.is_list() && seps.items().size() == 2) {
      o.separators_given = true;
      o.item_separator = seps.items()[0].to_str();
      o.key_separator = seps.items()[1].to_str();
    }
    o.sort_keys = arg(a, 99, "sort_keys", Value(false)).truthy();
    o.ensure_ascii = arg(a, 99, "ensure_ascii", Value(false)).truthy();
    std::string out = json_dumps(v, o);
    in.check_size(out.size());
    return Value(std::move(out));
  }
  throw_error("No filter named '" + name + "'.");
}

}  // namespace whale::tpl
