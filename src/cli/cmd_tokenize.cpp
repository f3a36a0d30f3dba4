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
  auto model = a.get("--model");
  if (!model)
    return fail(
        make_error("tokenize: --model M is required (a .gguf file or a tokenizer directory)"));
  if (!a.positionals.empty())
    return fail(make_error("tokenize: unexpected argument %s", a.positionals[0].c_str()));
  auto tok = Tokenizer::from_path(*model);
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
    const std::string& text = input.value();
    size_t line_no = 0;
    for (size_t pos = 0; pos < text.size();) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      std::string_view line(text.data() + pos, nl - pos);
      pos = nl + 1;
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank line
      auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
      if (j.is_discarded() || !j.is_string())
        return fail(make_error("tokenize: line %zu is not a JSON string", line_no));
      ids.clear();
      tok->encode(j.get_ref<const std::string&>(), special, ids);
      append_ids(ids, out);
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : fail(make_error("tokenize: could not write the output"));
}

}  // namespace whale::cli
