// whale tokenize --model M [--special] [--file F] [--jsonl]
// Text (stdin or F) -> one JSON array of token ids; with --jsonl every input line is a JSON
// string and every output line the JSON array of its ids. No BOS is added.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/token_io.h"
#include "platform/mapped_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace whale::cli {
namespace {

void append_ids(const std::vector<int32_t>& ids, std::string& out) {
  out += '[';
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(ids[i]);
  }
  out += "]\n";
}

}  // namespace

static Result<std::string> read_input(const Args& a) {
  if (auto f = a.get("--file")) return read_text_file(*f);
  std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (std::cin.bad()) return make_error("could not read standard input");
  return s;
}

int cmd_tokenize(const std::vector<std::string>& argv) {
  auto args = parse_args(argv, {"--model", "--file"}, {"--special", "--jsonl"});
  if (!args.ok()) return fail(args.error());
  const Args& a = args.value();
  auto tok = tokenizer_from_args(a, "tokenize");
  if (!tok.ok()) return fail(tok.error());
  auto input = read_input(a);
  if (!input.ok()) return fail(input.error());
  const bool special = a.has("--special");
  std::string out;
  std::vector<int32_t> ids;
  if (!a.has("--jsonl")) {
    if (!unicode::is_valid_utf8(input.value()))
      return fail(make_error("tokenize: the input is not valid UTF-8"));
    tok->encode(input.value(), special, ids);
    append_ids(ids, out);
  } else {
    Status st = for_each_line(input.value(), [&](std::string_view line, size_t line_no) -> Status {
      auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
      if (j.is_discarded() || !j.is_string())
        return make_error("tokenize: line %zu is not a JSON string", line_no);
      ids.clear();
      tok->encode(j.get_ref<const std::string&>(), special, ids);
      append_ids(ids, out);
      return {};
    });
    if (!st.ok()) return fail(st.error());
  }
  return write_output(out, "tokenize");
}

}  // namespace whale::cli
