#include "cli/numeric_args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace whale::cli {

Result<int64_t> parse_int(const std::string& option, const std::string& text, int64_t min,
                          int64_t max) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || v < min || v > max)
    return make_error("%s: '%s' is not an integer in [%lld, %lld]", option.c_str(), text.c_str(),
                      (long long)min, (long long)max);
  return int64_t(v);
}

Result<float> parse_float(const std::string& option, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const float v = std::strtof(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    return make_error("%s: '%s' is not a number", option.c_str(), text.c_str());
  return v;
}

Result<KvType> kv_type_option(const Args& a) {
  const std::string text = a.get_or("--kv-type", "f32");
  if (text == "f32") return KvType::kF32;
  if (text == "f16") return KvType::kF16;
  if (text == "bf16") return KvType::kBF16;
  return make_error("--kv-type: expected f32, f16 or bf16, got '%s'", text.c_str());
}

}  // namespace whale::cli
