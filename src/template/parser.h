// Tokens -> syntax tree, following jinja2's grammar and operator precedence:
// cond-expr < or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary < postfix
// (attribute, subscript, call) < filters and tests.
#pragma once

#include <string_view>

#include "template/ast.h"

namespace whale::tpl {

// Throws TemplateError (with the line) on a syntax error or on nesting deeper than
// kMaxNesting, so hostile templates cannot exhaust the stack.
Body parse_template(std::string_view source);

constexpr int kMaxNesting = 200;

}  // namespace whale::tpl
