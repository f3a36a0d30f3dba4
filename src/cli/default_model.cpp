#include "cli/default_model.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace whale::cli {

namespace fs = std::filesystem;

namespace {
constexpr const char* kDefaultModelFile = "whale-kjv-tiny-f16.gguf";
}

Result<std::string> default_model_path() {
  if (const char* env = std::getenv("WHALE_DEFAULT_MODEL"); env && *env) return std::string(env);
  std::vector<fs::path> candidates;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "models" / kDefaultModelFile);
#ifdef WHALE_SOURCE_DIR
  candidates.push_back(fs::path(WHALE_SOURCE_DIR) / "models" / kDefaultModelFile);
#endif
  candidates.push_back(fs::path("models") / kDefaultModelFile);
  for (const auto& c : candidates)
    if (fs::is_regular_file(c, ec)) return c.string();
  return make_error(
      "no --model given and the built-in default model (%s) was not found next to "
      "the binary or in the source tree; pass --model M or set WHALE_DEFAULT_MODEL",
      kDefaultModelFile);
}

}  // namespace whale::cli
