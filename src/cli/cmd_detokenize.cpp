#include "cli/args.h"
#include "cli/commands.h"

namespace whale::cli {

int cmd_detokenize(const std::vector<std::string>&) { return fail(make_error("detokenize: not built yet")); }

}  // namespace whale::cli
