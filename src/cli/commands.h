// The subcommands of the `whale` binary. Each lives in its own cmd_<name>.cpp.
#pragma once

#include <string>
#include <vector>

namespace whale::cli {

using CommandFn = int (*)(const std::vector<std::string>& args);

struct Command {
  const char* name;
  CommandFn run;
  const char* usage;  // one line
};

// Defined in main.cpp; lists every command (the single place commands are registered).
const std::vector<Command>& all_commands();

int cmd_info(const std::vector<std::string>& args);
int cmd_tokenize(const std::vector<std::string>& args);
int cmd_detokenize(const std::vector<std::string>& args);
int cmd_template(const std::vector<std::string>& args);
int cmd_convert(const std::vector<std::string>& args);
int cmd_quantize(const std::vector<std::string>& args);
int cmd_logits(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_perplexity(const std::vector<std::string>& args);
int cmd_keys(const std::vector<std::string>& args);
int cmd_serve(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);

}  // namespace whale::cli
