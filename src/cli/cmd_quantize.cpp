#include "cli/args.h"
#include "cli/commands.h"

namespace whale::cli {

int cmd_quantize(const std::vector<std::string>&) { return fail(make_error("quantize: not built yet")); }

}  // namespace whale::cli
