// The built-in default model (models/whale-kjv-tiny-f16.gguf, trained by tools/train), used by
// `whale run` and `whale serve` when no --model is given.
#pragma once

#include <string>

#include "platform/result.h"

namespace whale::cli {

// Looks, in order, at $WHALE_DEFAULT_MODEL, <dir of the whale binary>/../models/<file> (the
// build tree), and <source tree>/models/<file>; an Error says where it looked.
Result<std::string> default_model_path();

}  // namespace whale::cli
