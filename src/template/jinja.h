// A Jinja2 template interpreter for chat templates, with the semantics Hugging Face
// transformers uses: ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
// extensions=[loopcontrols]), globals raise_exception/strftime_now and a tojson filter that
// is json.dumps(ensure_ascii=False). Errors come back as "template error at line N: ...".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "platform/result.h"
#include "template/interpreter.h"
#include "template/value.h"

namespace whale {

using TemplateValue = tpl::Value;
using TemplateLimits = tpl::RenderLimits;

class Template {
 public:
  static Result<Template> parse(std::string_view source);
  Result<std::string> render(const tpl::Value& context,
                             const tpl::RenderLimits& limits = tpl::RenderLimits()) const;
  Result<std::string> render(const nlohmann::json& context,
                             const tpl::RenderLimits& limits = tpl::RenderLimits()) const {
    return render(tpl::Value::from_json(context), limits);
  }
  Result<std::string> render(const nlohmann::ordered_json& context,
                             const tpl::RenderLimits& limits = tpl::RenderLimits()) const {
    return render(tpl::Value::from_json(context), limits);
  }

 private:
  std::shared_ptr<const tpl::Body> body_;
};

}  // namespace whale
