// Minimal command-line parsing shared by the subcommands: `--name value`, `--flag`,
// and positionals, in any order. Unknown options are errors (a typo must not be ignored).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "platform/result.h"

namespace whale::cli {

struct Args {
  std::map<std::string, std::string> options;  // --name value
  std::set<std::string> flags;                 // --flag
  std::vector<std::string> positionals;

  bool has(const std::string& flag) const { return flags.count(flag) > 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
};

// value_options: names that take a value; flag_options: names that do not.
// Short aliases (e.g. "-p") may appear in either set.
Result<Args> parse_args(const std::vector<std::string>& argv,
                        const std::set<std::string>& value_options,
                        const std::set<std::string>& flag_options);

// Prints "whale: <message>" on stderr and returns exit code 1.
int fail(const Error& e);

}  // namespace whale::cli
