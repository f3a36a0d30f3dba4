// Syntax tree of a parsed template: expressions and statements. Plain data, built by the
// parser and walked by the interpreter; every node keeps its source line for error messages.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "template/value.h"

namespace whale::tpl {

enum class ExprKind {
  Const,     // value
  Name,      // name
  List,      // children
  Tuple,     // children
  Dict,      // children: key, value, key, value...
  GetAttr,   // children[0] . name
  GetItem,   // children[0] [ children[1] ]
  Slice,     // children[0] [ c1 : c2 : c3 ] (null child = omitted)
  Call,      // children[0] ( children[1..] , kwargs )
  Filter,    // children[0] | name ( children[1..] , kwargs )
  Test,      // children[0] is [not] name ( children[1..] )
  Neg,       // - children[0]
  Pos,       // + children[0]
  Not,       // not children[0]
  Binary,    // children[0] op children[1]   (+ - * / // % ** ~)
  And,       // children[0] and children[1]
  Or,        // children[0] or children[1]
  Compare,   // children[0] op[0] children[1] op[1] children[2] ...
  CondExpr,  // children[1] if children[0] else children[2] (children[2] may be null)
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind;
  int line = 0;
  Value value;           // Const
  std::string name;      // Name, GetAttr, Filter, Test, Binary operator
  bool negated = false;  // Test: "is not"
  std::vector<ExprPtr> children;
  std::vector<std::string> ops;                         // Compare operators
  std::vector<std::pair<std::string, ExprPtr>> kwargs;  // Call, Filter, Test
};

enum class NodeKind {
  Text,         // text
  Print,        // expr
  If,           // branches (cond + body); else_body
  For,          // targets, expr (iterable), cond (optional filter), body, else_body
  Set,          // targets (or ns + attr), expr
  SetBlock,     // targets[0], body, filters (Filter exprs applied to the captured text)
  Macro,        // text = name, params, body
  CallBlock,    // expr = call, params = caller's params, body
  FilterBlock,  // filters, body
  Break,
  Continue,
  Scope,  // body (e.g. the transformers {% generation %} tag): just renders the body
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Param {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct Node {
  NodeKind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr cond;
  std::vector<std::string> targets;
  bool target_is_tuple = false;
  std::string attr;  // Set: namespace attribute ("ns.attr" -> targets[0]=ns, attr=attr)
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::vector<Param> params;
  std::vector<ExprPtr> filters;  // Filter exprs whose children[0] is null (applied to text)
  bool recursive = false;
};

}  // namespace whale::tpl
