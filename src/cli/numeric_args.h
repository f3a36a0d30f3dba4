// Numbers given on the command line: the whole argument must be the number (no "12abc"),
// within range, with an error that names the option.
#pragma once

#include <cstdint>
#include <string>

#include "cli/args.h"
#include "model/model.h"
#include "platform/result.h"

namespace whale::cli {

// A decimal integer in [min, max].
Result<int64_t> parse_int(const std::string& option, const std::string& text, int64_t min,
                          int64_t max);
// A finite decimal number (ranges are the caller's: e.g. validate_sampling_params).
Result<float> parse_float(const std::string& option, const std::string& text);
// --kv-type: "f32" (the default when absent: exact) or "f16" (half the KV memory).
Result<KvType> kv_type_option(const Args& a);

}  // namespace whale::cli
