#include "template/jinja.h"

#include <new>

#include "template/parser.h"

namespace whale {
namespace {

Error to_error(const tpl::TemplateError& e) {
  std::string msg = "template error";
  if (e.line > 0) msg += " at line " + std::to_string(e.line);
  msg += ": " + e.message;
  return Error{msg};
}

// Unknown filters and tests are compile-time errors in jinja2: check the whole tree up front.
void check_names(const tpl::Expr* e) {
  if (!e) return;
  if (e->kind == tpl::ExprKind::Filter && !tpl::has_filter(e->name))
    tpl::throw_error("No filter named '" + e->name + "'.", e->line);
  if (e->kind == tpl::ExprKind::Test && !tpl::has_test(e->name))
    tpl::throw_error("No test named '" + e->name + "'.", e->line);
  for (const auto& c : e->children) check_names(c.get());
  for (const auto& [k, v] : e->kwargs) check_names(v.get());
}

void check_names(const tpl::Body& body) {
  for (const auto& n : body) {
    check_names(n->expr.get());
    check_names(n->cond.get());
    for (const auto& [c, b] : n->branches) {
      check_names(c.get());
      check_names(b);
    }
    check_names(n->body);
    check_names(n->else_body);
    for (const auto& p : n->params) check_names(p.default_value.get());
    for (const auto& f : n->filters) check_names(f.get());
  }
}

}  // namespace

Result<Template> Template::parse(std::string_view source) {
  try {
    auto body = std::make_shared<tpl::Body>(tpl::parse_template(source));
    check_names(*body);
    Template t;
    t.body_ = std::move(body);
    return t;
  } catch (const tpl::TemplateError& e) {
    return to_error(e);
  } catch (const std::bad_alloc&) {
    return make_error("template error: out of memory while parsing");
  } catch (const std::exception& e) {
    return make_error("template error: %s", e.what());
  }
}

Result<std::string> Template::render(const tpl::Value& context,
                                     const tpl::RenderLimits& limits) const {
  if (!body_) return make_error("template error: template was not parsed");
  try {
    tpl::Interpreter in(context, limits);
    return in.render(*body_);
  } catch (const tpl::TemplateError& e) {
    return to_error(e);
  } catch (const std::bad_alloc&) {
    return make_error("template error: out of memory while rendering");
  } catch (const std::exception& e) {
    return make_error("template error: %s", e.what());
  }
}

}  // namespace whale
