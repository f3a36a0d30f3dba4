// The value model of the template interpreter. It mirrors the Python objects that jinja2
// sees when Hugging Face renders a chat template: None, bool, int, float, str, list/tuple,
// dict (insertion ordered), plus jinja2's Undefined, namespace() objects and callables.
// Lists and dicts are shared by reference like Python objects; strings are UTF-8 and
// every length/index/slice counts code points.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace whale::tpl {

// Raised inside the interpreter; Template::parse/render turn it into an Error. Never
// leaves the template layer.
struct TemplateError {
  int line = 0;  // 0 = not known yet (filled in by the nearest node that knows its line)
  std::string message;
};
[[noreturn]] void throw_error(const std::string& message, int line = 0);

class Value;
class Interpreter;
using List = std::vector<Value>;

struct Dict;

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  int line = 0;
};

struct Callable {
  std::string name;
  std::function<Value(Interpreter&, CallArgs&)> fn;
};

enum class Type { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable };

class Value {
 public:
  Value() : type_(Type::None) {}
  static Value undefined(std::string hint);  // hint: the jinja2 error text if it is used
  static Value none() { return Value(); }
  Value(bool b) : type_(Type::Bool), b_(b) {}
  Value(int64_t i) : type_(Type::Int), i_(i) {}
  Value(int i) : type_(Type::Int), i_(i) {}
  Value(double f) : type_(Type::Float), f_(f) {}
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}
  static Value list(List items = {}, bool is_tuple = false);
  static Value dict();
  static Value namespace_();
  static Value callable(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn);
  // Objects keep their key order with ordered_json (Python dicts do); plain json sorts keys.
  static Value from_json(const nlohmann::json& j) { return from_json_any(j); }
  static Value from_json(const nlohmann::ordered_json& j) { return from_json_any(j); }

  Type type() const { return type_; }
  bool is_undefined() const { return type_ == Type::Undefined; }
  bool is_none() const { return type_ == Type::None; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_int() const { return type_ == Type::Int; }
  bool is_float() const { return type_ == Type::Float; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return type_ == Type::String; }
  bool is_list() const { return type_ == Type::List; }
  bool is_tuple() const { return type_ == Type::List && tuple_; }
  bool is_dict() const { return type_ == Type::Dict; }
  bool is_namespace() const { return type_ == Type::Namespace; }
  bool is_mapping() const { return is_dict() || is_namespace(); }
  bool is_callable() const { return type_ == Type::Callable; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return is_bool() ? (b_ ? 1 : 0) : i_; }
  double as_float() const { return is_float() ? f_ : double(as_int()); }
  const std::string& str() const { return *s_; }
  const List& items() const { return *list_; }
  List& items_mut() { return *list_; }
  const Dict& dict_ref() const { return *dict_; }
  Dict& dict_mut() { return *dict_; }
  const Callable& fn() const { return *fn_; }
  const std::string& undefined_hint() const { return hint_; }

  // Python truthiness (Undefined is false).
  bool truthy() const;
  // Python type name for error messages: 'str', 'NoneType', 'int', 'list', 'dict'...
  std::string type_name() const;
  // str(x) as jinja2 prints it ({{ x }}): Undefined -> "", None -> "None", lists as repr.
  std::string to_str() const;
  // repr(x): strings quoted like Python.
  std::string repr() const;
  // Python ==, with 1 == 1.0 == True.
  bool equals(const Value& other) const;
  nlohmann::json to_json() const;  // throws TemplateError for unserialisable values

 private:
  template <typename Json>
  static Value from_json_any(const Json& j);

  Type type_;
  bool b_ = false;
  bool tuple_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::shared_ptr<const std::string> s_;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Callable> fn_;
  std::string hint_;
};

// Insertion-ordered mapping (Python dict). Linear lookup: chat messages have few keys.
struct Dict {
  std::vector<std::pair<Value, Value>> entries;
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  const Value* find(const std::string& key) const { return find(std::string_view(key)); }
  const Value* find(const char* key) const { return find(std::string_view(key)); }
  void set(const Value& key, Value value);
};

// UTF-8 helpers (code point counting like Python str).
std::vector<uint32_t> utf8_decode(std::string_view s);
void utf8_append(std::string& out, uint32_t cp);
size_t utf8_length(std::string_view s);
// Python float repr: shortest round-trip digits, '1.0', '1e-05', '1e+16', 'inf', 'nan'.
std::string python_float_repr(double d);
// Python's str.isspace() for one code point.
bool is_python_space(uint32_t cp);

// json.dumps(x, ensure_ascii=False, indent=indent, separators=..., sort_keys=...)
struct JsonDumpOptions {
  int indent = -1;  // -1: None (single line)
  bool indent_is_string = false;
  std::string indent_string;
  std::string item_separator;  // default chosen by indent like Python
  std::string key_separator = ": ";
  bool separators_given = false;
  bool sort_keys = false;
  bool ensure_ascii = false;
};
std::string json_dumps(const Value& v, const JsonDumpOptions& options);

}  // namespace whale::tpl
