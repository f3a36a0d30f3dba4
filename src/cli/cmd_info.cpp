#include "cli/args.h"
#include "cli/commands.h"

namespace whale::cli {

int cmd_info(const std::vector<std::string>&) { return fail(make_error("info: not built yet")); }

}  // namespace whale::cli
