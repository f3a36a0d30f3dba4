// whale detokenize --model M [--jsonl]
// A JSON array of ids on stdin -> the text on stdout; with --jsonl, one array per line -> one
// JSON string per line.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/token_io.h"
#include "tokenizer/tokenizer.h"

namespace whale::cli {
namespace {

Result<std::vector<int32_t>> parse_ids(std::string_view text, const Tokenizer& tok,
                                       const std::string& where) {
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_array())
    return make_error("detokenize: %s is not a JSON array of token ids", where.c_str());
  std::vector<int32_t> ids;
  ids.reserve(j.size());
  for (const auto& v : j) {
    if (!v.is_number_integer())
      return make_error("detokenize: %s holds %s, not a token id", where.c_str(),
                        v.dump().substr(0, 40).c_str());
    int64_t id = v.get<int64_t>();
    if (id < 0 || id >= int64_t(tok.vocab_size()))
      return make_error("detokenize: token id %lld in %s is out of range (vocabulary has %zu ids)",
                        (long long)id, where.c_str(), tok.vocab_size());
    ids.push_back(int32_t(id));
  }
  return ids;
}

}  // namespace

int cmd_detokenize(const std::vector<std::string>& argv) {
  auto args = parse_args(argv, {"--model"}, {"--jsonl"});
  if (!args.ok()) return fail(args.error());
  const Args& a = args.value();
  auto tok = tokenizer_from_args(a, "detokenize");
  if (!tok.ok()) return fail(tok.error());
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::string out;
  if (!a.has("--jsonl")) {
    auto ids = parse_ids(text, tok.value(), "the input");
    if (!ids.ok()) return fail(ids.error());
    out = tok->decode(ids.value());
  } else {
    Status st = for_each_line(text, [&](std::string_view line, size_t line_no) -> Status {
      auto ids = parse_ids(line, tok.value(), "line " + std::to_string(line_no));
      if (!ids.ok()) return ids.error();
      out += nlohmann::json(tok->decode(ids.value()))
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      out += '\n';
      return {};
    });
    if (!st.ok()) return fail(st.error());
  }
  return write_output(out, "detokenize");
}

}  // namespace whale::cli
