#include "template/parser.h"

#include <charconv>
#include <cstdlib>
#include <set>

#include "template/lexer.h"

namespace whale::tpl {
namespace {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Body parse_all() {
    std::string end_tag;
    Body body = parse_body({}, end_tag);
    return body;
  }

 private:
  // ---- token helpers ----
  const Token& cur() const { return t_[i_]; }
  const Token& peek(size_t n = 1) const { return t_[std::min(i_ + n, t_.size() - 1)]; }
  void next() {
    if (i_ + 1 < t_.size()) ++i_;
  }
  bool is_op(const char* op) const { return cur().kind == TokenKind::Operator && cur().text == op; }
  bool is_name(const char* n) const { return cur().kind == TokenKind::Name && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  [[noreturn]] void fail(const std::string& msg) const { throw_error(msg, cur().line); }
  std::string describe(const Token& t) const {
    switch (t.kind) {
      case TokenKind::Eof:
        return "end of template";
      case TokenKind::BlockEnd:
        return "end of statement block";
      case TokenKind::VarEnd:
        return "end of print statement";
      case TokenKind::String:
        return "string";
      default:
        return "'" + t.text + "'";
    }
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail(std::string("expected token '") + op + "', got " + describe(cur()));
  }
  std::string expect_name() {
    if (cur().kind != TokenKind::Name) fail("expected a name, got " + describe(cur()));
    std::string n = cur().text;
    next();
    return n;
  }
  void expect_block_end() {
    if (cur().kind != TokenKind::BlockEnd)
      fail("expected end of statement block, got " + describe(cur()));
    next();
  }

  struct DepthGuard {
    int& d;
    DepthGuard(int& depth, const Parser& p) : d(depth) {
      if (++d > kMaxNesting) p.fail("template nesting is too deep");
    }
    ~DepthGuard() { --d; }
  };

  ExprPtr make(ExprKind k, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = line;
    return e;
  }

  // ---- statements ----
  Body parse_body(const std::set<std::string>& end_tags, std::string& found_end) {
    DepthGuard g(depth_, *this);
    Body body;
    while (true) {
      const Token& tok = cur();
      if (tok.kind == TokenKind::Eof) {
        if (!end_tags.empty())
          fail("unexpected end of template; expected one of: " + join_set(end_tags));
        return body;
      }
      if (tok.kind == TokenKind::Text) {
        auto n = std::make_unique<Node>();
        n->kind = NodeKind::Text;
        n->line = tok.line;
        n->text = tok.text;
        body.push_back(std::move(n));
        next();
      } else if (tok.kind == TokenKind::VarBegin) {
        auto n = std::make_unique<Node>();
        n->kind = NodeKind::Print;
        n->line = tok.line;
        next();
        n->expr = parse_tuple();
        if (cur().kind != TokenKind::VarEnd)
          fail("expected end of print statement, got " + describe(cur()));
        next();
        body.push_back(std::move(n));
      } else if (tok.kind == TokenKind::BlockBegin) {
        next();
        if (cur().kind != TokenKind::Name) fail("tag name expected");
        std::string tag = cur().text;
        if (end_tags.count(tag)) {
          found_end = tag;
          next();
          return body;
        }
        body.push_back(parse_statement());
      } else {
        fail("unexpected " + describe(tok));
      }
    }
  }

  static std::string join_set(const std::set<std::string>& s) {
    std::string out;
    for (const auto& x : s) out += (out.empty() ? "'" : ", '") + x + "'";
    return out;
  }

  NodePtr parse_statement() {
    int line = cur().line;
    std::string tag = cur().text;
    next();
    auto n = std::make_unique<Node>();
    n->line = line;
    std::string end;
    if (tag == "if") {
      n->kind = NodeKind::If;
      while (true) {
        ExprPtr cond = parse_tuple();
        expect_block_end();
        Body b = parse_body({"elif", "else", "endif"}, end);
        n->branches.emplace_back(std::move(cond), std::move(b));
        if (end == "elif") continue;
        if (end == "else") {
          expect_block_end();
          n->else_body = parse_body({"endif"}, end);
        }
        break;
      }
    } else if (tag == "for") {
      n->kind = NodeKind::For;
      parse_targets(*n, false);
      if (!skip_name("in")) fail("expected 'in', got " + describe(cur()));
      n->expr = parse_tuple(false);
      if (skip_name("if")) n->cond = parse_tuple();
      if (skip_name("recursive")) n->recursive = true;
      expect_block_end();
      ++loop_depth_;
      n->body = parse_body({"endfor", "else"}, end);
      --loop_depth_;
      if (end == "else") {
        expect_block_end();
        n->else_body = parse_body({"endfor"}, end);
      }
    } else if (tag == "set") {
      parse_targets(*n, true);
      if (skip_op("=")) {
        n->kind = NodeKind::Set;
        n->expr = parse_tuple();
      } else {
        n->kind = NodeKind::SetBlock;
        if (!n->attr.empty() || n->targets.size() != 1) fail("expected token '='");
        while (skip_op("|")) n->filters.push_back(parse_filter(nullptr));
        expect_block_end();
        n->body = parse_body({"endset"}, end);
      }
    } else if (tag == "macro") {
      n->kind = NodeKind::Macro;
      n->text = expect_name();
      parse_params(*n);
      expect_block_end();
      n->body = parse_body({"endmacro"}, end);
    } else if (tag == "call") {
      n->kind = NodeKind::CallBlock;
      if (is_op("(")) parse_params(*n);
      n->expr = parse_expression();
      if (n->expr->kind != ExprKind::Call) fail("expected call");
      expect_block_end();
      n->body = parse_body({"endcall"}, end);
    } else if (tag == "filter") {
      n->kind = NodeKind::FilterBlock;
      do {
        n->filters.push_back(parse_filter(nullptr));
      } while (skip_op("|"));
      expect_block_end();
      n->body = parse_body({"endfilter"}, end);
    } else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail("'" + tag + "' outside of a loop");
      n->kind = tag == "break" ? NodeKind::Break : NodeKind::Continue;
    } else if (tag == "generation") {
      n->kind = NodeKind::Scope;
      expect_block_end();
      n->body = parse_body({"endgeneration"}, end);
    } else {
      fail("Encountered unknown tag '" + tag + "'.");
    }
    expect_block_end();  // after the closing tag, or after a one-line statement
    return n;
  }

  void parse_targets(Node& n, bool allow_attr) {
    bool paren = skip_op("(");
    do {
      std::string name = expect_name();
      if (allow_attr && is_op(".")) {
        next();
        n.attr = expect_name();
      }
      n.targets.push_back(name);
      if (!skip_op(",")) break;
      n.target_is_tuple = true;
    } while (cur().kind == TokenKind::Name);
    if (paren) expect_op(")");
    if (!n.attr.empty() && n.targets.size() != 1) fail("can't assign to a tuple with attributes");
  }

  void parse_params(Node& n) {
    expect_op("(");
    while (!is_op(")")) {
      if (!n.params.empty()) expect_op(",");
      if (is_op(")")) break;
      Param p;
      p.name = expect_name();
      if (skip_op("=")) p.default_value = parse_expression();
      n.params.push_back(std::move(p));
    }
    expect_op(")");
  }

  // ---- expressions ----
  ExprPtr parse_tuple(bool with_condexpr = true) {
    int line = cur().line;
    ExprPtr first = with_condexpr ? parse_expression() : parse_or();
    if (!is_op(",")) return first;
    auto t = make(ExprKind::Tuple, line);
    t->children.push_back(std::move(first));
    while (skip_op(",")) {
      if (cur().kind == TokenKind::BlockEnd || cur().kind == TokenKind::VarEnd || is_op(")") ||
          is_name("in") || is_name("if"))
        break;
      t->children.push_back(with_condexpr ? parse_expression() : parse_or());
    }
    return t;
  }

  ExprPtr parse_expression() {
    DepthGuard g(depth_, *this);
    ExprPtr e = parse_or();
    while (is_name("if")) {
      int line = cur().line;
      next();
      auto c = make(ExprKind::CondExpr, line);
      c->children.push_back(parse_or());
      c->children.push_back(std::move(e));
      if (skip_name("else"))
        c->children.push_back(parse_expression());
      else
        c->children.push_back(nullptr);
      e = std::move(c);
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      auto n = make(ExprKind::Or, cur().line);
      next();
      n->children.push_back(std::move(e));
      n->children.push_back(parse_and());
      e = std::move(n);
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      auto n = make(ExprKind::And, cur().line);
      next();
      n->children.push_back(std::move(e));
      n->children.push_back(parse_not());
      e = std::move(n);
    }
    return e;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard g(depth_, *this);
      auto n = make(ExprKind::Not, cur().line);
      next();
      n->children.push_back(parse_not());
      return n;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = cur().line;
    ExprPtr e = parse_math1();
    std::unique_ptr<Expr> cmp;
    while (true) {
      std::string op;
      if (cur().kind == TokenKind::Operator &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == ">" ||
           cur().text == "<=" || cur().text == ">=")) {
        op = cur().text;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && peek().kind == TokenKind::Name && peek().text == "in") {
        op = "notin";
        next();
        next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(ExprKind::Compare, line);
        cmp->children.push_back(std::move(e));
      }
      cmp->ops.push_back(op);
      cmp->children.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(e);
  }

  ExprPtr binary(const char* op, ExprPtr l, ExprPtr r, int line) {
    auto n = make(ExprKind::Binary, line);
    n->name = op;
    n->children.push_back(std::move(l));
    n->children.push_back(std::move(r));
    return n;
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      std::string op = cur().text;
      int line = cur().line;
      next();
      e = binary(op.c_str(), std::move(e), parse_concat(), line);
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      int line = cur().line;
      next();
      e = binary("~", std::move(e), parse_math2(), line);
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = cur().text;
      int line = cur().line;
      next();
      e = binary(op.c_str(), std::move(e), parse_pow(), line);
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      int line = cur().line;
      next();
      e = binary("**", std::move(e), parse_unary(true), line);
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard g(depth_, *this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      auto n = make(is_op("-") ? ExprKind::Neg : ExprKind::Pos, cur().line);
      next();
      n->children.push_back(parse_unary(false));
      e = std::move(n);
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& tok = cur();
    int line = tok.line;
    switch (tok.kind) {
      case TokenKind::Name: {
        auto n = make(ExprKind::Const, line);
        const std::string& s = tok.text;
        if (s == "true" || s == "True") {
          n->value = Value(true);
        } else if (s == "false" || s == "False") {
          n->value = Value(false);
        } else if (s == "none" || s == "None") {
          n->value = Value();
        } else {
          n->kind = ExprKind::Name;
          n->name = s;
        }
        next();
        return n;
      }
      case TokenKind::String: {
        std::string s;
        while (cur().kind == TokenKind::String) {  // adjacent literals concatenate
          s += cur().text;
          next();
        }
        auto n = make(ExprKind::Const, line);
        n->value = Value(std::move(s));
        return n;
      }
      case TokenKind::Integer: {
        auto n = make(ExprKind::Const, line);
        int64_t v = 0;
        auto r = std::from_chars(tok.text.data(), tok.text.data() + tok.text.size(), v);
        if (r.ec != std::errc())
          n->value = Value(std::strtod(tok.text.c_str(), nullptr));  // too big for int64
        else
          n->value = Value(v);
        next();
        return n;
      }
      case TokenKind::Float: {
        auto n = make(ExprKind::Const, line);
        n->value = Value(std::strtod(tok.text.c_str(), nullptr));
        next();
        return n;
      }
      case TokenKind::Operator:
        if (tok.text == "(") {
          next();
          if (skip_op(")")) return make(ExprKind::Tuple, line);
          ExprPtr inner = parse_expression();
          if (is_op(",")) {
            auto t = make(ExprKind::Tuple, line);
            t->children.push_back(std::move(inner));
            while (skip_op(",")) {
              if (is_op(")")) break;
              t->children.push_back(parse_expression());
            }
            inner = std::move(t);
          }
          expect_op(")");
          return inner;
        }
        if (tok.text == "[") {
          next();
          auto l = make(ExprKind::List, line);
          while (!is_op("]")) {
            if (!l->children.empty()) expect_op(",");
            if (is_op("]")) break;
            l->children.push_back(parse_expression());
          }
          expect_op("]");
          return l;
        }
        if (tok.text == "{") {
          next();
          auto d = make(ExprKind::Dict, line);
          while (!is_op("}")) {
            if (!d->children.empty()) expect_op(",");
            if (is_op("}")) break;
            d->children.push_back(parse_expression());
            expect_op(":");
            d->children.push_back(parse_expression());
          }
          expect_op("}");
          return d;
        }
        break;
      default:
        break;
    }
    fail("unexpected " + describe(tok));
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      int line = cur().line;
      if (is_op(".")) {
        next();
        auto n = make(ExprKind::GetAttr, line);
        if (cur().kind == TokenKind::Name) {
          n->name = cur().text;
        } else if (cur().kind == TokenKind::Integer) {
          n->kind = ExprKind::GetItem;  // x.0 is x[0]
          auto idx = make(ExprKind::Const, line);
          idx->value = Value(int64_t(std::atoll(cur().text.c_str())));
          n->children.push_back(std::move(e));
          n->children.push_back(std::move(idx));
          next();
          e = std::move(n);
          continue;
        } else {
          fail("expected name or number after '.'");
        }
        next();
        n->children.push_back(std::move(e));
        e = std::move(n);
      } else if (is_op("[")) {
        next();
        e = parse_subscript(std::move(e), line);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj, int line) {
    ExprPtr parts[3];
    bool is_slice = false;
    for (int k = 0; k < 3; ++k) {
      if (!is_op(":") && !is_op("]")) parts[k] = parse_expression();
      if (k < 2 && skip_op(":")) {
        is_slice = true;
        continue;
      }
      break;
    }
    expect_op("]");
    if (!is_slice) {
      if (!parts[0]) fail("expected an index");
      auto n = make(ExprKind::GetItem, line);
      n->children.push_back(std::move(obj));
      n->children.push_back(std::move(parts[0]));
      return n;
    }
    auto n = make(ExprKind::Slice, line);
    n->children.push_back(std::move(obj));
    for (auto& p : parts) n->children.push_back(std::move(p));
    return n;
  }

  void parse_call_args(Expr& n) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (cur().kind == TokenKind::Name && peek().kind == TokenKind::Operator &&
          peek().text == "=") {
        std::string key = cur().text;
        next();
        next();
        n.kwargs.emplace_back(key, parse_expression());
      } else {
        if (!n.kwargs.empty()) fail("positional argument follows keyword argument");
        n.children.push_back(parse_expression());
      }
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto n = make(ExprKind::Call, cur().line);
    n->children.push_back(std::move(callee));
    parse_call_args(*n);
    return n;
  }

  ExprPtr parse_filter(ExprPtr input) {
    auto n = make(ExprKind::Filter, cur().line);
    n->name = expect_name();
    while (is_op(".")) {
      next();
      n->name += "." + expect_name();
    }
    n->children.push_back(std::move(input));
    if (is_op("(")) parse_call_args(*n);
    return n;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        next();
        e = parse_filter(std::move(e));
      } else if (is_name("is")) {
        int line = cur().line;
        next();
        auto n = make(ExprKind::Test, line);
        if (skip_name("not")) n->negated = true;
        n->name = expect_name();
        n->children.push_back(std::move(e));
        if (is_op("(")) {
          parse_call_args(*n);
        } else if ((cur().kind == TokenKind::Name || cur().kind == TokenKind::String ||
                    cur().kind == TokenKind::Integer || cur().kind == TokenKind::Float ||
                    is_op("(") || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) fail("You cannot chain multiple tests with is");
          n->children.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(n);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(std::string_view source) {
  return Parser(tokenize(source)).parse_all();
}

}  // namespace whale::tpl
