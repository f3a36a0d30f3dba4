#include "cli/args.h"

#include <cstdio>

namespace whale::cli {

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  auto v = get(name);
  return v ? *v : fallback;
}

Result<Args> parse_args(const std::vector<std::string>& argv,
                        const std::set<std::string>& value_options,
                        const std::set<std::string>& flag_options) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s.size() > 1 && s[0] == '-' && s != "-") {
      std::string name = s;
      std::optional<std::string> inline_value;
      if (auto eq = s.find('='); eq != std::string::npos && s.rfind("--", 0) == 0) {
        name = s.substr(0, eq);
        inline_value = s.substr(eq + 1);
      }
      if (value_options.count(name)) {
        if (inline_value) {
          a.options[name] = *inline_value;
        } else {
          if (i + 1 >= argv.size()) return make_error("option %s needs a value", name.c_str());
          a.options[name] = argv[++i];
        }
      } else if (flag_options.count(name) && !inline_value) {
        a.flags.insert(name);
      } else {
        return make_error("unknown option %s (see whale help)", s.c_str());
      }
    } else {
      a.positionals.push_back(s);
    }
  }
  return a;
}

int fail(const Error& e) {
  std::fprintf(stderr, "whale: %s\n", e.message.c_str());
  return 1;
}

}  // namespace whale::cli
