// What `whale tokenize` and `whale detokenize` share: the --model prologue, the walk over
// --jsonl lines and writing the result.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "cli/args.h"
#include "platform/result.h"
#include "tokenizer/tokenizer.h"

namespace whale::cli {

// The tokenizer of --model (required; no positionals allowed). `command` names the subcommand
// in messages.
Result<Tokenizer> tokenizer_from_args(const Args& a, const char* command);

// Calls body(line, line_number) for every non-blank line of text (numbers count from 1, blank
// lines included); stops at the first Error the body returns.
Status for_each_line(std::string_view text,
                     const std::function<Status(std::string_view, size_t)>& body);

// Writes out to stdout: 0, or the `whale:` error line and 1.
int write_output(const std::string& out, const char* command);

}  // namespace whale::cli
