// Operators, globals (range, namespace, dict, raise_exception, strftime_now), tests, and
// the Python methods that templates call on strings, lists and dicts.
#include <algorithm>
#include <cmath>
#include <ctime>

#include "template/interpreter.h"
#include "template/text.h"

namespace whale::tpl {

[[noreturn]] void fail_undefined(const Value& v) {
  throw_error(v.undefined_hint());
}

std::string object_type_repr(const Value& v) {
  if (v.is_none()) return "None";
  if (v.is_undefined()) return "Undefined";
  return "'" + v.type_name() + " object'";
}

std::vector<Value> iterate(const Value& v) {
  switch (v.type()) {
    case Type::Undefined:
      return {};
    case Type::List:
      return v.items();
    case Type::Dict: {
      std::vector<Value> keys;
      for (const auto& e : v.dict_ref().entries) keys.push_back(e.first);
      return keys;
    }
    case Type::String: {
      std::vector<Value> out;
      for (uint32_t cp : utf8_decode(v.str())) {
        std::string s;
        utf8_append(s, cp);
        out.emplace_back(std::move(s));
      }
      return out;
    }
    default:
      throw_error("'" + v.type_name() + "' object is not iterable");
  }
}

int64_t python_len(const Value& v) {
  switch (v.type()) {
    case Type::Undefined:
      return 0;
    case Type::String:
      return int64_t(utf8_length(v.str()));
    case Type::List:
      return int64_t(v.items().size());
    case Type::Dict:
      return int64_t(v.dict_ref().entries.size());
    default:
      throw_error("object of type '" + v.type_name() + "' has no len()");
  }
}

static std::string repeat(const std::string& s, int64_t n, size_t max_bytes) {
  if (n <= 0 || s.empty()) return "";
  if (s.size() * uint64_t(n) > max_bytes || uint64_t(n) > max_bytes)
    throw_error("string repetition result is too large");
  std::string out;
  out.reserve(s.size() * size_t(n));
  for (int64_t i = 0; i < n; ++i) out += s;
  return out;
}

static double python_mod_float(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

Value binary_op(const std::string& op, const Value& a, const Value& b, size_t max_bytes) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  auto unsupported = [&]() -> Value {
    throw_error("unsupported operand types for " + op + ": '" + a.type_name() + "' and '" +
                b.type_name() + "'");
  };
  if (op == "%" && a.is_string()) return Value(python_percent_format(a.str(), b));
  if (a.is_number() && b.is_number()) {
    bool fl = a.is_float() || b.is_float();
    if (op == "/") {
      if (b.as_float() == 0) throw_error("division by zero");
      return Value(a.as_float() / b.as_float());
    }
    if (op == "**") {
      if (!fl && b.as_int() >= 0) {
        int64_t base = a.as_int(), e = b.as_int(), r = 1;
        while (e > 0) {
          if (e & 1) {
            if (__builtin_mul_overflow(r, base, &r)) throw_error("integer overflow");
          }
          e >>= 1;
          if (e > 0 && __builtin_mul_overflow(base, base, &base)) throw_error("integer overflow");
        }
        return Value(r);
      }
      if (a.as_float() == 0 && b.as_float() < 0)
        throw_error("0.0 cannot be raised to a negative power");
      return Value(std::pow(a.as_float(), b.as_float()));
    }
    if (fl) {
      double x = a.as_float(), y = b.as_float();
      if (op == "+") return Value(x + y);
      if (op == "-") return Value(x - y);
      if (op == "*") return Value(x * y);
      if (op == "//") {
        if (y == 0) throw_error("float floor division by zero");
        return Value(std::floor(x / y));
      }
      if (op == "%") {
        if (y == 0) throw_error("float modulo");
        return Value(python_mod_float(x, y));
      }
    } else {
      int64_t x = a.as_int(), y = b.as_int(), r = 0;
      bool overflow = false;
      if (op == "+")
        overflow = __builtin_add_overflow(x, y, &r);
      else if (op == "-")
        overflow = __builtin_sub_overflow(x, y, &r);
      else if (op == "*")
        overflow = __builtin_mul_overflow(x, y, &r);
      else if (op == "//" || op == "%") {
        if (y == 0) throw_error("integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) throw_error("integer overflow");
        int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {
          --q;
          m += y;
        }
        r = op == "//" ? q : m;
      }
      if (overflow) throw_error("integer overflow");
      return Value(r);
    }
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      if (a.str().size() + b.str().size() > max_bytes) throw_error("string is too large");
      return Value(a.str() + b.str());
    }
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      List items = a.items();
      items.insert(items.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(items), a.is_tuple());
    }
  }
  if (op == "*") {
    const Value* seq = (a.is_string() || a.is_list())   ? &a
                       : (b.is_string() || b.is_list()) ? &b
                                                        : nullptr;
    const Value* count = seq == &a ? &b : &a;
    if (seq && (count->is_int() || count->is_bool())) {
      int64_t n = count->as_int();
      if (seq->is_string()) return Value(repeat(seq->str(), n, max_bytes));
      if (n > 0 && seq->items().size() * uint64_t(n) > max_bytes / 16)
        throw_error("list repetition result is too large");
      List items;
      for (int64_t i = 0; i < n; ++i)
        items.insert(items.end(), seq->items().begin(), seq->items().end());
      return Value::list(std::move(items), seq->is_tuple());
    }
  }
  return unsupported();
}

static int compare_values(const Value& a, const Value& b, const std::string& op) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      double x = a.as_float(), y = b.as_float();
      if (std::isnan(x) || std::isnan(y)) return 2;  // unordered
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
  }
  if (a.is_string() && b.is_string())
    return a.str().compare(b.str()) < 0 ? -1 : a.str() == b.str() ? 0 : 1;
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    size_t n = std::min(a.items().size(), b.items().size());
    for (size_t i = 0; i < n; ++i) {
      if (a.items()[i].equals(b.items()[i])) continue;
      return compare_values(a.items()[i], b.items()[i], op);
    }
    return a.items().size() < b.items().size() ? -1 : a.items().size() > b.items().size() ? 1 : 0;
  }
  throw_error("'" + op + "' not supported between instances of '" + a.type_name() + "' and '" +
              b.type_name() + "'");
}

bool compare_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return a.equals(b);
  if (op == "!=") return !a.equals(b);
  int c = compare_values(a, b, op);
  if (c == 2) return false;
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

bool contains(const Value& container, const Value& item) {
  switch (container.type()) {
    case Type::String:
      if (!item.is_string())
        throw_error("'in <string>' requires string as left operand, not " + item.type_name());
      return container.str().find(item.str()) != std::string::npos;
    case Type::List:
      for (const auto& e : container.items())
        if (e.equals(item)) return true;
      return false;
    case Type::Dict:
      return container.dict_ref().find(item) != nullptr;
    case Type::Undefined:
      return false;
    default:
      throw_error("argument of type '" + container.type_name() + "' is not iterable");
  }
}

// ---- globals ----------------------------------------------------------------------------

static const Value* kwarg(CallArgs& a, const char* name) {
  for (auto& [k, v] : a.keyword)
    if (k == name) return &v;
  return nullptr;
}

void install_globals(std::unordered_map<std::string, Value>& g) {
  g["range"] = Value::callable("range", [](Interpreter& in, CallArgs& a) {
    std::vector<int64_t> p;
    for (const auto& v : a.positional) {
      if (!v.is_int() && !v.is_bool())
        throw_error("'" + v.type_name() + "' object cannot be interpreted as an integer");
      p.push_back(v.as_int());
    }
    if (p.empty() || p.size() > 3) throw_error("range expected 1 to 3 arguments");
    int64_t start = p.size() > 1 ? p[0] : 0, stop = p.size() > 1 ? p[1] : p[0];
    int64_t step = p.size() > 2 ? p[2] : 1;
    if (step == 0) throw_error("range() arg 3 must not be zero");
    __int128 count = step > 0 ? (__int128(stop) - start + step - 1) / step
                              : (__int128(start) - stop - step - 1) / -step;
    if (count < 0) count = 0;
    if (count > 100000)
      throw_error("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    List items;
    for (__int128 i = 0; i < count; ++i) {
      in.step();
      items.emplace_back(int64_t(start + i * step));
    }
    return Value::list(std::move(items));
  });
  g["namespace"] = Value::callable("namespace", [](Interpreter&, CallArgs& a) {
    Value ns = Value::namespace_();
    for (const auto& p : a.positional) {
      if (!p.is_dict()) throw_error("namespace() positional argument must be a mapping");
      for (const auto& [k, v] : p.dict_ref().entries) ns.dict_mut().set(k, v);
    }
    for (const auto& [k, v] : a.keyword) ns.dict_mut().set(Value(k), v);
    return ns;
  });
  g["dict"] = Value::callable("dict", [](Interpreter&, CallArgs& a) {
    Value d = Value::dict();
    for (const auto& p : a.positional) {
      if (!p.is_dict()) throw_error("dict() positional argument must be a mapping");
      for (const auto& [k, v] : p.dict_ref().entries) d.dict_mut().set(k, v);
    }
    for (const auto& [k, v] : a.keyword) d.dict_mut().set(Value(k), v);
    return d;
  });
  g["raise_exception"] = Value::callable("raise_exception", [](Interpreter&, CallArgs& a) -> Value {
    throw_error(a.positional.empty() ? std::string("raise_exception called")
                                     : a.positional[0].to_str());
  });
  g["strftime_now"] = Value::callable("strftime_now", [](Interpreter&, CallArgs& a) {
    std::string fmt = a.positional.empty() ? "" : a.positional[0].to_str();
    if (const Value* f = kwarg(a, "format")) fmt = f->to_str();
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[512];
    size_t n = fmt.empty() ? 0 : std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
    return Value(std::string(buf, n));
  });
}

// ---- tests ------------------------------------------------------------------------------

static const char* kTests[] = {
    "defined",     "undefined", "none",     "boolean", "false",    "true",     "integer",
    "float",       "number",    "string",   "mapping", "iterable", "sequence", "callable",
    "sameas",      "escaped",   "in",       "eq",      "equalto",  "==",       "ne",
    "!=",          "lt",        "lessthan", "<",       "le",       "<=",       "gt",
    "greaterthan", ">",         "ge",       ">=",      "odd",      "even",     "divisibleby",
    "lower",       "upper",     "filter",   "test"};

bool has_test(const std::string& name) {
  for (const char* t : kTests)
    if (name == t) return true;
  return false;
}

bool apply_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& a) {
  (void)in;
  auto arg = [&](size_t i) -> const Value& {
    if (i >= a.positional.size()) throw_error("test '" + name + "' is missing an argument");
    return a.positional[i];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "sequence") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "callable") return v.is_callable();
  if (name == "escaped") return false;
  if (name == "sameas") {
    const Value& o = arg(0);
    if (v.is_none() || v.is_bool() || v.is_undefined()) return v.type() == o.type() && v.equals(o);
    return v.type() == o.type() && (v.is_list() || v.is_mapping()) && v.equals(o) &&
           &v.items() == &o.items();
  }
  if (name == "in") return contains(arg(0), v);
  if (name == "eq" || name == "equalto" || name == "==") return v.equals(arg(0));
  if (name == "ne" || name == "!=") return !v.equals(arg(0));
  if (name == "lt" || name == "lessthan" || name == "<") return compare_op("<", v, arg(0));
  if (name == "le" || name == "<=") return compare_op("<=", v, arg(0));
  if (name == "gt" || name == "greaterthan" || name == ">") return compare_op(">", v, arg(0));
  if (name == "ge" || name == ">=") return compare_op(">=", v, arg(0));
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (v.is_undefined()) fail_undefined(v);
    if (!v.is_int() && !v.is_bool())
      throw_error("unsupported operand types for %: '" + v.type_name() + "' and 'int'");
    int64_t m = name == "divisibleby" ? arg(0).as_int() : 2;
    if (m == 0) throw_error("integer division or modulo by zero");
    int64_t r = ((v.as_int() % m) + m) % m;
    return name == "odd" ? r == 1 : r == 0;
  }
  if (name == "lower" || name == "upper") {
    if (!v.is_string())
      throw_error("'" + v.type_name() + "' object has no attribute '" + name + "'");
    return name == "lower" ? v.str() == py_lower(v.str()) : v.str() == py_upper(v.str());
  }
  if (name == "filter") return arg(0).is_string() && has_filter(arg(0).str());
  if (name == "test") return arg(0).is_string() && has_test(arg(0).str());
  throw_error("No test named '" + name + "'.");
}

// ---- methods ----------------------------------------------------------------------------

static Value method(const Value& self, const std::string& name,
                    Value (*fn)(const Value&, CallArgs&)) {
  return Value::callable(name, [self, fn](Interpreter&, CallArgs& a) { return fn(self, a); });
}

static const Value& need_arg(CallArgs& a, size_t i, const char* what) {
  if (i >= a.positional.size())
    throw_error(std::string(what) + " takes at least " + std::to_string(i + 1) + " argument(s)");
  return a.positional[i];
}

static Value opt_arg(CallArgs& a, size_t i, const char* name) {
  if (i < a.positional.size()) return a.positional[i];
  if (const Value* v = kwarg(a, name)) return *v;
  return Value::undefined("");
}

static std::string need_string(const Value& v, const char* what) {
  if (!v.is_string()) throw_error(std::string(what) + " arg must be str, not " + v.type_name());
  return v.str();
}

Value get_method(const Value& obj, const std::string& name) {
  if (obj.is_string()) {
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
      int mode = name == "strip" ? 0 : name == "lstrip" ? 1 : 2;
      return Value::callable(name, [obj, mode](Interpreter&, CallArgs& a) {
        Value chars = opt_arg(a, 0, "chars");
        bool custom = chars.is_string();
        if (!custom && !chars.is_none() && !chars.is_undefined())
          throw_error("strip arg must be None or str");
        return Value(py_strip(obj.str(), custom ? &chars.str() : nullptr, mode != 2, mode != 1));
      });
    }
    if (name == "split" || name == "rsplit") {
      bool right = name == "rsplit";
      return Value::callable(name, [obj, right](Interpreter&, CallArgs& a) {
        Value sep = opt_arg(a, 0, "sep");
        Value maxsplit = opt_arg(a, 1, "maxsplit");
        int64_t ms = maxsplit.is_int() ? maxsplit.as_int() : -1;
        List parts;
        std::vector<std::string> pieces;
        if (sep.is_string()) {
          if (sep.str().empty()) throw_error("empty separator");
          pieces = py_split(obj.str(), sep.str(), ms, right);
        } else {
          pieces = py_split_whitespace(obj.str(), ms, right);
        }
        for (auto& p : pieces) parts.emplace_back(std::move(p));
        return Value::list(std::move(parts));
      });
    }
    if (name == "startswith" || name == "endswith") {
      bool start = name == "startswith";
      return Value::callable(name, [obj, start](Interpreter&, CallArgs& a) {
        const Value& p = need_arg(a, 0, start ? "startswith" : "endswith");
        std::vector<std::string> options;
        if (p.is_string()) {
          options.push_back(p.str());
        } else if (p.is_tuple()) {
          for (const auto& e : p.items()) options.push_back(need_string(e, "tuple for startswith"));
        } else {
          throw_error(std::string(start ? "startswith" : "endswith") +
                      " first arg must be str or a tuple of str, not " + p.type_name());
        }
        const std::string& s = obj.str();
        for (const auto& o : options) {
          if (o.size() > s.size()) continue;
          if (start ? s.compare(0, o.size(), o) == 0
                    : s.compare(s.size() - o.size(), o.size(), o) == 0)
            return Value(true);
        }
        return Value(false);
      });
    }
    if (name == "replace")
      return method(obj, name, [](const Value& s, CallArgs& a) {
        std::string from = need_string(need_arg(a, 0, "replace"), "replace");
        std::string to = need_string(need_arg(a, 1, "replace"), "replace");
        Value count = opt_arg(a, 2, "count");
        return Value(py_replace(s.str(), from, to, count.is_int() ? count.as_int() : -1));
      });
    if (name == "upper")
      return method(obj, name, [](const Value& s, CallArgs&) { return Value(py_upper(s.str())); });
    if (name == "lower")
      return method(obj, name, [](const Value& s, CallArgs&) { return Value(py_lower(s.str())); });
    if (name == "title")
      return method(obj, name, [](const Value& s, CallArgs&) { return Value(py_title(s.str())); });
    if (name == "capitalize")
      return method(obj, name,
                    [](const Value& s, CallArgs&) { return Value(py_capitalize(s.str())); });
    if (name == "swapcase")
      return method(obj, name,
                    [](const Value& s, CallArgs&) { return Value(py_swapcase(s.str())); });
    if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
      bool rev = name[0] == 'r';
      bool raise = name.find("index") != std::string::npos;
      return Value::callable(name, [obj, rev, raise](Interpreter&, CallArgs& a) {
        std::string sub = need_string(need_arg(a, 0, "find"), "find");
        size_t pos = rev ? obj.str().rfind(sub) : obj.str().find(sub);
        if (pos == std::string::npos) {
          if (raise) throw_error("substring not found");
          return Value(int64_t(-1));
        }
        return Value(int64_t(utf8_length(std::string_view(obj.str()).substr(0, pos))));
      });
    }
    if (name == "count")
      return method(obj, name, [](const Value& s, CallArgs& a) {
        std::string sub = need_string(need_arg(a, 0, "count"), "count");
        if (sub.empty()) return Value(int64_t(utf8_length(s.str()) + 1));
        int64_t n = 0;
        for (size_t p = s.str().find(sub); p != std::string::npos;
             p = s.str().find(sub, p + sub.size()))
          ++n;
        return Value(n);
      });
    if (name == "join")
      return method(obj, name, [](const Value& s, CallArgs& a) {
        std::string out;
        bool first = true;
        for (const auto& e : iterate(need_arg(a, 0, "join"))) {
          if (!e.is_string())
            throw_error("sequence item: expected str instance, " + e.type_name() + " found");
          if (!first) out += s.str();
          first = false;
          out += e.str();
        }
        return Value(std::move(out));
      });
    if (name == "splitlines")
      return method(obj, name, [](const Value& s, CallArgs& a) {
        Value keep = opt_arg(a, 0, "keepends");
        List out;
        for (auto& l : py_splitlines(s.str(), keep.truthy())) out.emplace_back(std::move(l));
        return Value::list(std::move(out));
      });
    if (name == "format")
      return Value::callable(
          name, [obj](Interpreter&, CallArgs& a) { return Value(py_str_format(obj.str(), a)); });
    if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" ||
        name == "islower" || name == "isupper" || name == "isnumeric" || name == "isdecimal")
      return Value::callable(
          name, [obj, name](Interpreter&, CallArgs&) { return Value(py_is(obj.str(), name)); });
    return Value::undefined("");
  }
  if (obj.is_dict()) {
    if (name == "items")
      return method(obj, name, [](const Value& d, CallArgs&) {
        List out;
        for (const auto& [k, v] : d.dict_ref().entries) out.push_back(Value::list({k, v}, true));
        return Value::list(std::move(out));
      });
    if (name == "keys")
      return method(obj, name, [](const Value& d, CallArgs&) { return Value::list(iterate(d)); });
    if (name == "values")
      return method(obj, name, [](const Value& d, CallArgs&) {
        List out;
        for (const auto& e : d.dict_ref().entries) out.push_back(e.second);
        return Value::list(std::move(out));
      });
    if (name == "get")
      return method(obj, name, [](const Value& d, CallArgs& a) {
        const Value& k = need_arg(a, 0, "get");
        if (const Value* v = d.dict_ref().find(k)) return *v;
        return a.positional.size() > 1 ? a.positional[1] : Value();
      });
    if (name == "copy")
      return method(obj, name, [](const Value& d, CallArgs&) {
        Value c = Value::dict();
        c.dict_mut().entries = d.dict_ref().entries;
        return c;
      });
    if (name == "update" || name == "pop" || name == "popitem" || name == "setdefault" ||
        name == "clear")
      return Value::callable(name, [name](Interpreter&, CallArgs&) -> Value {
        throw_error("access to attribute '" + name + "' of 'dict' object is unsafe.");
      });
    return Value::undefined("");
  }
  if (obj.is_list()) {
    if (name == "index")
      return method(obj, name, [](const Value& l, CallArgs& a) {
        const Value& x = need_arg(a, 0, "index");
        for (size_t i = 0; i < l.items().size(); ++i)
          if (l.items()[i].equals(x)) return Value(int64_t(i));
        throw_error(x.repr() + " is not in list");
      });
    if (name == "count")
      return method(obj, name, [](const Value& l, CallArgs& a) {
        const Value& x = need_arg(a, 0, "count");
        int64_t n = 0;
        for (const auto& e : l.items()) n += e.equals(x) ? 1 : 0;
        return Value(n);
      });
    if (!obj.is_tuple() &&
        (name == "append" || name == "extend" || name == "insert" || name == "pop" ||
         name == "remove" || name == "clear" || name == "sort" || name == "reverse"))
      return Value::callable(name, [name](Interpreter&, CallArgs&) -> Value {
        throw_error("access to attribute '" + name + "' of 'list' object is unsafe.");
      });
  }
  return Value::undefined("");
}

}  // namespace whale::tpl
