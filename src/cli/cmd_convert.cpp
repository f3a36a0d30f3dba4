#include "cli/args.h"
#include "cli/commands.h"

namespace whale::cli {

int cmd_convert(const std::vector<std::string>&) { return fail(make_error("convert: not built yet")); }

}  // namespace whale::cli
