#include "cli/args.h"
#include "cli/commands.h"

namespace whale::cli {

int cmd_tokenize(const std::vector<std::string>&) { return fail(make_error("tokenize: not built yet")); }

}  // namespace whale::cli
