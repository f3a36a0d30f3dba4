#include "template/interpreter.h"

#include <algorithm>
#include <cmath>

namespace whale::tpl {

Interpreter::Interpreter(const Value& context, const RenderLimits& limits) : limits_(limits) {
  frames_.emplace_back();
  install_globals(frames_[0]);
  if (context.is_mapping())
    for (const auto& [k, v] : context.dict_ref().entries) frames_[0][k.to_str()] = v;
}

void Interpreter::step() {
  if (++steps_ > limits_.max_steps)
    throw_error("template exceeded the step limit (" + std::to_string(limits_.max_steps) +
                " operations): it loops too much");
}

void Interpreter::check_size(size_t bytes) const {
  if (bytes > limits_.max_output_bytes)
    throw_error("template output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes");
}

std::string Interpreter::render(const Body& body) {
  std::string out;
  exec(body, out);
  return out;
}

Value Interpreter::lookup(const std::string& name) const {
  for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
    auto f = it->find(name);
    if (f != it->end()) return f->second;
  }
  return Value::undefined("'" + name + "' is undefined");
}

void Interpreter::assign(const std::string& name, Value v) {
  frames_.back()[name] = std::move(v);
}

Interpreter::Flow Interpreter::exec(const Body& body, std::string& out) {
  for (const auto& n : body) {
    Flow f = exec_node(*n, out);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Interpreter::Flow Interpreter::exec_node(const Node& n, std::string& out) {
  step();
  try {
    switch (n.kind) {
      case NodeKind::Text:
        out += n.text;
        break;
      case NodeKind::Print: {
        Value v = eval(*n.expr);
        out += v.to_str();
        break;
      }
      case NodeKind::If: {
        for (const auto& [cond, body] : n.branches)
          if (eval(*cond).truthy()) return exec(body, out);
        return exec(n.else_body, out);
      }
      case NodeKind::For:
        return exec_for(n, out);
      case NodeKind::Set:
        exec_set(n);
        break;
      case NodeKind::SetBlock: {
        std::string captured;
        exec(n.body, captured);
        Value v(std::move(captured));
        for (const auto& f : n.filters) v = eval_filter(*f, std::move(v));
        assign(n.targets[0], std::move(v));
        break;
      }
      case NodeKind::Macro:
        assign(n.text, make_macro(n));
        break;
      case NodeKind::CallBlock: {
        // The body becomes `caller()` inside the called macro.
        Node* self = const_cast<Node*>(&n);
        Value caller = Value::callable("caller", [this, self](Interpreter&, CallArgs& a) {
          frames_.emplace_back();
          for (size_t i = 0; i < self->params.size(); ++i) {
            Value v = i < a.positional.size() ? a.positional[i]
                      : self->params[i].default_value
                          ? eval(*self->params[i].default_value)
                          : Value::undefined("'" + self->params[i].name + "' is undefined");
            frames_.back()[self->params[i].name] = v;
          }
          std::string s;
          try {
            exec(self->body, s);
          } catch (...) {
            frames_.pop_back();
            throw;
          }
          frames_.pop_back();
          return Value(std::move(s));
        });
        const Expr& call_expr = *n.expr;
        Value callee = eval(*call_expr.children[0]);
        CallArgs args = eval_args(call_expr, 1);
        args.keyword.emplace_back("caller", caller);
        out += call(callee, args, n.line).to_str();
        break;
      }
      case NodeKind::FilterBlock: {
        std::string captured;
        exec(n.body, captured);
        Value v(std::move(captured));
        for (const auto& f : n.filters) v = eval_filter(*f, std::move(v));
        out += v.to_str();
        break;
      }
      case NodeKind::Break:
        return Flow::Break;
      case NodeKind::Continue:
        return Flow::Continue;
      case NodeKind::Scope:
        return exec(n.body, out);
    }
  } catch (TemplateError& e) {
    if (e.line == 0) e.line = n.line;
    throw;
  }
  output_bytes_ = out.size();
  check_size(out.size());
  return Flow::Normal;
}

static void bind_targets(const Node& n, const Value& item, Interpreter::Frame& frame) {
  if (!n.target_is_tuple) {
    frame[n.targets[0]] = item;
    return;
  }
  std::vector<Value> parts = iterate(item);
  if (parts.size() != n.targets.size())
    throw_error(parts.size() < n.targets.size()
                    ? "not enough values to unpack (expected " + std::to_string(n.targets.size()) +
                          ", got " + std::to_string(parts.size()) + ")"
                    : "too many values to unpack (expected " + std::to_string(n.targets.size()) +
                          ")");
  for (size_t i = 0; i < parts.size(); ++i) frame[n.targets[i]] = parts[i];
}

Interpreter::Flow Interpreter::exec_for(const Node& n, std::string& out) {
  Value iterable = eval(*n.expr);
  std::vector<Value> items = iterate(iterable);
  if (n.cond) {  // {% for x in xs if cond %}: filter first, so loop.length counts kept items
    std::vector<Value> kept;
    for (const auto& it : items) {
      step();
      frames_.emplace_back();
      bind_targets(n, it, frames_.back());
      bool keep;
      try {
        keep = eval(*n.cond).truthy();
      } catch (...) {
        frames_.pop_back();
        throw;
      }
      frames_.pop_back();
      if (keep) kept.push_back(it);
    }
    items = std::move(kept);
  }
  if (items.empty()) return exec(n.else_body, out);
  const int64_t length = int64_t(items.size());
  for (int64_t i = 0; i < length; ++i) {
    step();
    frames_.emplace_back();
    Frame& f = frames_.back();
    bind_targets(n, items[size_t(i)], f);
    Value loop = Value::dict();
    Dict& d = loop.dict_mut();
    d.entries.reserve(12);
    d.entries.emplace_back(Value("index"), Value(i + 1));
    d.entries.emplace_back(Value("index0"), Value(i));
    d.entries.emplace_back(Value("revindex"), Value(length - i));
    d.entries.emplace_back(Value("revindex0"), Value(length - i - 1));
    d.entries.emplace_back(Value("first"), Value(i == 0));
    d.entries.emplace_back(Value("last"), Value(i == length - 1));
    d.entries.emplace_back(Value("length"), Value(length));
    d.entries.emplace_back(Value("depth"), Value(1));
    d.entries.emplace_back(Value("depth0"), Value(0));
    d.entries.emplace_back(Value("previtem"), i > 0
                                                  ? items[size_t(i - 1)]
                                                  : Value::undefined("there is no previous item"));
    d.entries.emplace_back(Value("nextitem"), i + 1 < length
                                                  ? items[size_t(i + 1)]
                                                  : Value::undefined("there is no next item"));
    d.entries.emplace_back(Value("cycle"), Value::callable("cycle", [i](Interpreter&, CallArgs& a) {
                             if (a.positional.empty()) throw_error("no items for cycling given");
                             return a.positional[size_t(i) % a.positional.size()];
                           }));
    f["loop"] = loop;
    Flow flow;
    try {
      flow = exec(n.body, out);
    } catch (...) {
      frames_.pop_back();
      throw;
    }
    frames_.pop_back();
    if (flow == Flow::Break) break;
  }
  return Flow::Normal;
}

void Interpreter::exec_set(const Node& n) {
  Value v = eval(*n.expr);
  if (!n.attr.empty()) {
    Value target = lookup(n.targets[0]);
    if (!target.is_namespace()) throw_error("cannot assign attribute on non-namespace object");
    target.dict_mut().set(Value(n.attr), std::move(v));
    return;
  }
  if (!n.target_is_tuple) {
    assign(n.targets[0], std::move(v));
    return;
  }
  Frame tmp;
  bind_targets(n, v, tmp);
  for (auto& [k, val] : tmp) assign(k, val);
}

Value Interpreter::make_macro(const Node& n) {
  const Node* self = &n;
  return Value::callable(n.text, [self](Interpreter& in, CallArgs& a) {
    if (a.positional.size() > self->params.size())
      throw_error("macro '" + self->text + "' takes not more than " +
                  std::to_string(self->params.size()) + " argument(s)");
    if (++in.call_depth_ > in.limits_.max_call_depth) {
      --in.call_depth_;
      throw_error("maximum macro recursion depth exceeded");
    }
    // A macro sees the template's globals, its parameters and `caller`; not the caller's
    // local variables.
    std::vector<Frame> saved;
    saved.swap(in.frames_);
    in.frames_.push_back(saved[0]);
    in.frames_.emplace_back();
    Frame& f = in.frames_.back();
    for (size_t i = 0; i < self->params.size(); ++i) {
      const Param& p = self->params[i];
      if (i < a.positional.size()) {
        f[p.name] = a.positional[i];
      } else {
        f[p.name] = Value::undefined("'" + p.name + "' is undefined");
        if (p.default_value) f[p.name] = in.eval(*p.default_value);
      }
    }
    for (auto& [k, v] : a.keyword) {
      bool known = k == "caller";
      for (const auto& p : self->params) known = known || p.name == k;
      if (!known) {
        in.frames_.swap(saved);
        --in.call_depth_;
        throw_error("macro '" + self->text + "' takes no keyword argument '" + k + "'");
      }
      f[k] = v;
    }
    std::string out;
    try {
      in.exec(self->body, out);
    } catch (...) {
      saved[0] = in.frames_[0];
      in.frames_.swap(saved);
      --in.call_depth_;
      throw;
    }
    in.frames_.swap(saved);
    --in.call_depth_;
    return Value(std::move(out));
  });
}

CallArgs Interpreter::eval_args(const Expr& e, size_t first_child) {
  CallArgs a;
  a.line = e.line;
  for (size_t i = first_child; i < e.children.size(); ++i)
    a.positional.push_back(eval(*e.children[i]));
  for (const auto& [k, v] : e.kwargs) a.keyword.emplace_back(k, eval(*v));
  return a;
}

Value Interpreter::call(const Value& callee, CallArgs& args, int line) {
  step();
  if (callee.is_undefined()) fail_undefined(callee);
  if (!callee.is_callable())
    throw_error("'" + callee.type_name() + "' object is not callable", line);
  return callee.fn().fn(*this, args);
}

Value Interpreter::get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail_undefined(obj);
  Value m = get_method(obj, name);
  if (!m.is_undefined()) return m;
  if (obj.is_mapping()) {
    if (const Value* v = obj.dict_ref().find(name)) return *v;
  }
  return Value::undefined(object_type_repr(obj) + " has no attribute '" + name + "'");
}

static int64_t normalize_index(int64_t i, int64_t n) {
  return i < 0 ? i + n : i;
}

Value Interpreter::get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_dict()) {
    if (const Value* v = obj.dict_ref().find(key)) return *v;
  } else if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    if (obj.is_list()) {
      int64_t n = int64_t(obj.items().size());
      int64_t i = normalize_index(key.as_int(), n);
      if (i >= 0 && i < n) return obj.items()[size_t(i)];
    } else {
      auto cps = utf8_decode(obj.str());
      int64_t n = int64_t(cps.size());
      int64_t i = normalize_index(key.as_int(), n);
      if (i >= 0 && i < n) {
        std::string s;
        utf8_append(s, cps[size_t(i)]);
        return Value(std::move(s));
      }
    }
    return Value::undefined(object_type_repr(obj) + " has no element " + key.repr());
  }
  if (key.is_string()) {
    Value m = get_method(obj, key.str());
    if (!m.is_undefined()) return m;
    if (obj.is_namespace())
      if (const Value* v = obj.dict_ref().find(key)) return *v;
    return Value::undefined(object_type_repr(obj) + " has no attribute '" + key.str() + "'");
  }
  return Value::undefined(object_type_repr(obj) + " has no element " + key.repr());
}

static int64_t clamp_slice(int64_t v, int64_t n, bool neg_step, bool is_start) {
  if (v < 0) {
    v += n;
    if (v < 0) v = neg_step ? -1 : 0;
  } else if (v >= n) {
    v = neg_step ? n - 1 : n;
  }
  (void)is_start;
  return v;
}

Value Interpreter::eval_slice(const Expr& e) {
  Value obj = eval(*e.children[0]);
  if (obj.is_undefined()) fail_undefined(obj);
  Value parts[3];
  bool given[3];
  for (int k = 0; k < 3; ++k) {
    given[k] = e.children[size_t(k) + 1] != nullptr;
    if (given[k]) {
      parts[k] = eval(*e.children[size_t(k) + 1]);
      if (parts[k].is_none())
        given[k] = false;
      else if (!parts[k].is_int() && !parts[k].is_bool())
        throw_error("slice indices must be integers or None or have an __index__ method", e.line);
    }
  }
  int64_t step = given[2] ? parts[2].as_int() : 1;
  if (step == 0) throw_error("slice step cannot be zero", e.line);
  std::vector<uint32_t> cps;
  int64_t n;
  if (obj.is_list()) {
    n = int64_t(obj.items().size());
  } else if (obj.is_string()) {
    cps = utf8_decode(obj.str());
    n = int64_t(cps.size());
  } else {
    throw_error("'" + obj.type_name() + "' object is not subscriptable", e.line);
  }
  bool neg = step < 0;
  int64_t start = given[0] ? clamp_slice(parts[0].as_int(), n, neg, true) : (neg ? n - 1 : 0);
  int64_t stop = given[1] ? clamp_slice(parts[1].as_int(), n, neg, false) : (neg ? -1 : n);
  std::vector<int64_t> idx;
  if (!neg)
    for (int64_t i = start; i < stop; i += step) idx.push_back(i);
  else
    for (int64_t i = start; i > stop; i += step) idx.push_back(i);
  if (obj.is_list()) {
    List out;
    out.reserve(idx.size());
    for (int64_t i : idx) out.push_back(obj.items()[size_t(i)]);
    return Value::list(std::move(out), obj.is_tuple());
  }
  std::string s;
  for (int64_t i : idx) utf8_append(s, cps[size_t(i)]);
  return Value(std::move(s));
}

Value Interpreter::eval_filter(const Expr& e, Value input) {
  CallArgs args = eval_args(e, 1);
  step();
  try {
    return apply_filter(*this, e.name, std::move(input), args);
  } catch (TemplateError& err) {
    if (err.line == 0) err.line = e.line;
    throw;
  }
}

Value Interpreter::eval_test(const Expr& e) {
  Value v = eval(*e.children[0]);
  CallArgs args = eval_args(e, 1);
  bool r = apply_test(*this, e.name, v, args);
  return Value(e.negated ? !r : r);
}

Value Interpreter::eval(const Expr& e) {
  try {
    switch (e.kind) {
      case ExprKind::Const:
        return e.value;
      case ExprKind::Name:
        return lookup(e.name);
      case ExprKind::List:
      case ExprKind::Tuple: {
        List items;
        for (const auto& c : e.children) items.push_back(eval(*c));
        return Value::list(std::move(items), e.kind == ExprKind::Tuple);
      }
      case ExprKind::Dict: {
        Value d = Value::dict();
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          Value k = eval(*e.children[i]);
          if (k.is_list() && !k.is_tuple()) throw_error("unhashable type: 'list'");
          if (k.is_dict()) throw_error("unhashable type: 'dict'");
          d.dict_mut().set(k, eval(*e.children[i + 1]));
        }
        return d;
      }
      case ExprKind::GetAttr:
        return get_attr(eval(*e.children[0]), e.name);
      case ExprKind::GetItem: {
        Value obj = eval(*e.children[0]);
        return get_item(obj, eval(*e.children[1]));
      }
      case ExprKind::Slice:
        return eval_slice(e);
      case ExprKind::Call: {
        Value callee = eval(*e.children[0]);
        CallArgs args = eval_args(e, 1);
        return call(callee, args, e.line);
      }
      case ExprKind::Filter:
        return eval_filter(e, eval(*e.children[0]));
      case ExprKind::Test:
        return eval_test(e);
      case ExprKind::Neg:
      case ExprKind::Pos: {
        Value v = eval(*e.children[0]);
        if (v.is_undefined()) fail_undefined(v);
        if (!v.is_number())
          throw_error(std::string("bad operand type for unary ") +
                      (e.kind == ExprKind::Neg ? "-" : "+") + ": '" + v.type_name() + "'");
        if (e.kind == ExprKind::Pos) return v.is_bool() ? Value(v.as_int()) : v;
        if (v.is_float()) return Value(-v.as_float());
        if (v.as_int() == INT64_MIN) throw_error("integer overflow");
        return Value(-v.as_int());
      }
      case ExprKind::Not:
        return Value(!eval(*e.children[0]).truthy());
      case ExprKind::And: {
        Value l = eval(*e.children[0]);
        return l.truthy() ? eval(*e.children[1]) : l;
      }
      case ExprKind::Or: {
        Value l = eval(*e.children[0]);
        return l.truthy() ? l : eval(*e.children[1]);
      }
      case ExprKind::Binary:
        return eval_binary(e);
      case ExprKind::Compare:
        return eval_compare(e);
      case ExprKind::CondExpr: {
        if (eval(*e.children[0]).truthy()) return eval(*e.children[1]);
        if (e.children[2]) return eval(*e.children[2]);
        return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                                " evaluated to false and no else section was defined.");
      }
    }
  } catch (TemplateError& err) {
    if (err.line == 0) err.line = e.line;
    throw;
  }
  return Value();
}

Value Interpreter::eval_binary(const Expr& e) {
  Value a = eval(*e.children[0]);
  Value b = eval(*e.children[1]);
  if (e.name == "~") {
    std::string s = a.to_str();
    s += b.to_str();
    check_size(s.size());
    return Value(std::move(s));
  }
  return binary_op(e.name, a, b, limits_.max_output_bytes);
}

Value Interpreter::eval_compare(const Expr& e) {
  Value left = eval(*e.children[0]);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.children[i + 1]);
    const std::string& op = e.ops[i];
    bool r;
    if (op == "in")
      r = contains(right, left);
    else if (op == "notin")
      r = !contains(right, left);
    else
      r = compare_op(op, left, right);
    if (!r) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

}  // namespace whale::tpl
