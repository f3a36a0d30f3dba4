// Walks the syntax tree and produces the output text, with jinja2's semantics as Hugging Face
// runs it (ImmutableSandboxedEnvironment + loopcontrols). Internal errors are thrown as
// TemplateError and turned into Error values by Template (jinja.h).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "template/ast.h"
#include "template/value.h"

namespace whale::tpl {

// Bounds that keep hostile templates from hanging or exhausting memory/stack.
struct RenderLimits {
  uint64_t max_steps = 20'000'000;      // statements + loop iterations + calls
  size_t max_output_bytes = 64u << 20;  // rendered text and any single string built
  int max_call_depth = 64;              // nested macro calls
};

class Interpreter {
 public:
  using Frame = std::unordered_map<std::string, Value>;
  Interpreter(const Value& context, const RenderLimits& limits);

  std::string render(const Body& body);

  Value eval(const Expr& e);
  Value call(const Value& callee, CallArgs& args, int line);
  Value lookup(const std::string& name) const;
  void step();
  const RenderLimits& limits() const { return limits_; }
  void check_size(size_t bytes) const;

  // Attribute / item access with jinja2's fallbacks (obj.x tries attributes then items).
  Value get_attr(const Value& obj, const std::string& name);
  Value get_item(const Value& obj, const Value& key);

 private:
  enum class Flow { Normal, Break, Continue };

  Flow exec(const Body& body, std::string& out);
  Flow exec_node(const Node& n, std::string& out);
  Flow exec_for(const Node& n, std::string& out);
  void exec_set(const Node& n);
  void assign(const std::string& name, Value v);
  Value make_macro(const Node& n);
  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  Value eval_slice(const Expr& e);
  Value eval_filter(const Expr& e, Value input);
  Value eval_test(const Expr& e);
  CallArgs eval_args(const Expr& e, size_t first_child);

  std::vector<Frame> frames_;  // frames_[0]: globals + the render context
  RenderLimits limits_;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
  size_t output_bytes_ = 0;
};

// Builtins (builtins.cpp, filters.cpp).
void install_globals(std::unordered_map<std::string, Value>& frame);
Value apply_filter(Interpreter& in, const std::string& name, Value input, CallArgs& args);
bool has_filter(const std::string& name);
bool apply_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& args);
bool has_test(const std::string& name);
// Bound method of a str/list/dict (e.g. "abc".split), or Undefined if there is none.
Value get_method(const Value& obj, const std::string& name);

// Shared helpers.
std::vector<Value> iterate(const Value& v);  // list items, dict keys, string characters
Value binary_op(const std::string& op, const Value& a, const Value& b, size_t max_bytes);
bool compare_op(const std::string& op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);
std::string object_type_repr(const Value& v);  // 'dict object', 'None', ...
[[noreturn]] void fail_undefined(const Value& v);
int64_t python_len(const Value& v);

}  // namespace whale::tpl
