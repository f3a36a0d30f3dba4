#include "cli/token_io.h"

#include <cstdio>

namespace whale::cli {

Result<Tokenizer> tokenizer_from_args(const Args& a, const char* command) {
  auto model = a.get("--model");
  if (!model)
    return make_error("%s: --model M is required (a .gguf file or a tokenizer directory)", command);
  if (!a.positionals.empty())
    return make_error("%s: unexpected argument %s", command, a.positionals[0].c_str());
  return Tokenizer::from_path(*model);
}

Status for_each_line(std::string_view text,
                     const std::function<Status(std::string_view, size_t)>& body) {
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    WHALE_TRY(body(line, line_no));
  }
  return {};
}

int write_output(const std::string& out, const char* command) {
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (std::fflush(stdout) == 0) return 0;
  return fail(make_error("%s: could not write the output", command));
}

}  // namespace whale::cli
