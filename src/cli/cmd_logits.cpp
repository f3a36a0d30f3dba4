// whale logits --model M --tokens 1,2,3 --out F.f32 [--decode] [--mla absorbed|expanded]
//              [--context N]
// Runs the forward pass on token ids (no tokenizer needed) and writes every position's logits as
// little-endian f32, [n_tokens x vocab]. Default: the tokens as one prefill batch; --decode
// feeds them one at a time through the KV cache. --mla picks the MLA form for every step
// (default: expanded for prefill, absorbed for decode).
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/numeric_args.h"
#include "runtime/session.h"

namespace whale::cli {
namespace {

Result<std::vector<int32_t>> parse_token_list(const std::string& s) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string item = s.substr(i, j - i);
    char* end = nullptr;
    errno = 0;
    const long long v = item.empty() ? 0 : std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || errno == ERANGE || v < 0 || v > INT32_MAX)
      return make_error("--tokens: '%s' is not a token id (expected e.g. 1,2,3)", item.c_str());
    ids.push_back(int32_t(v));
    i = j + 1;
  }
  return ids;
}

Result<int64_t> parse_positive(const std::string& name, const std::string& s) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno == ERANGE || v <= 0)
    return make_error("%s: '%s' is not a positive integer", name.c_str(), s.c_str());
  return int64_t(v);
}

Status write_f32(const std::string& path, const std::vector<float>& v) {
  static_assert(std::endian::native == std::endian::little, "whale writes little-endian f32");
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return make_error("cannot write %s", path.c_str());
  const size_t n = std::fwrite(v.data(), sizeof(float), v.size(), f);
  const bool ok = n == v.size() && std::fclose(f) == 0;
  if (!ok) return make_error("error writing %s", path.c_str());
  return Status::Ok();
}

}  // namespace

int cmd_logits(const std::vector<std::string>& argv) {
  auto args = parse_args(argv, {"--model", "--tokens", "--out", "--mla", "--context", "--kv-type"},
                         {"--decode"});
  if (!args.ok()) return fail(args.error());
  const Args& a = args.value();
  auto model = a.get("--model"), tokens_arg = a.get("--tokens"), out = a.get("--out");
  if (!model || !tokens_arg || !out)
    return fail(make_error("logits: --model M, --tokens 1,2,3 and --out F.f32 are required"));
  if (!a.positionals.empty())
    return fail(make_error("logits: unexpected argument %s", a.positionals[0].c_str()));
  MlaForm form = MlaForm::kAuto;
  if (auto m = a.get("--mla")) {
    if (*m == "absorbed") {
      form = MlaForm::kAbsorbed;
    } else if (*m == "expanded") {
      form = MlaForm::kExpanded;
    } else {
      return fail(make_error("--mla must be absorbed or expanded, not '%s'", m->c_str()));
    }
  }
  auto tokens = parse_token_list(*tokens_arg);
  if (!tokens) return fail(tokens.error());
  int64_t context = int64_t(tokens->size());
  if (auto c = a.get("--context")) {
    auto v = parse_positive("--context", *c);
    if (!v) return fail(v.error());
    context = v.value();
  }

  auto kv_type = kv_type_option(a);
  if (!kv_type) return fail(kv_type.error());
  auto engine = Engine::load(*model, 0, *kv_type);
  if (!engine) return fail(engine.error());
  auto session = Session::create(engine.value(), context);
  if (!session) return fail(session.error());
  Session& s = *session.value();
  const KvLayout kv = engine.value()->kv_layout();
  std::fprintf(stderr, "whale: KV cache: %lld tokens x %lld layers x %lld floats = %.2f MiB\n",
               (long long)context, (long long)kv.n_layers, (long long)kv.values_per_token,
               double(s.kv_bytes()) / 1048576.0);

  const size_t vocab = size_t(engine.value()->vocab_size());
  std::vector<float> all;
  all.reserve(tokens->size() * vocab);
  if (a.has("--decode")) {
    for (int32_t t : tokens.value()) {
      Status st = s.eval(std::span<const int32_t>(&t, 1), false, form);
      if (!st) return fail(st.error());
      auto row = s.logits(0);
      all.insert(all.end(), row.begin(), row.end());
    }
  } else {
    Status st = s.eval(tokens.value(), /*all_logits=*/true, form);
    if (!st) return fail(st.error());
    for (size_t r = 0; r < s.logit_rows(); ++r) {
      auto row = s.logits(r);
      all.insert(all.end(), row.begin(), row.end());
    }
  }
  Status st = write_f32(*out, all);
  if (!st) return fail(st.error());
  return 0;
}

}  // namespace whale::cli
