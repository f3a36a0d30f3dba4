#include "cli/args.h"
#include "cli/commands.h"

namespace whale::cli {

int cmd_template(const std::vector<std::string>&) { return fail(make_error("template: not built yet")); }

}  // namespace whale::cli
