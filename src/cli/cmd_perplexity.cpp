// whale perplexity --model M --file F [--ctx N] [--batch N] [--threads N]
//
// Perplexity of the model on a text file, computed the way llama.cpp's llama-perplexity does,
// so the numbers can be compared with the ones published for llama.cpp quantizations:
//   - the file is tokenized as plain text (special-token texts are not parsed), with the
//     tokenizer's BOS in front when the model wants one;
//   - the tokens are cut into floor(n / ctx) disjoint windows of ctx tokens (a partial last
//     window is dropped); each window is evaluated from an empty KV cache, with its first
//     token replaced by BOS when the model wants one;
//   - only the second half of each window is scored: the logits at positions ctx/2 .. ctx-2
//     predict tokens ctx/2+1 .. ctx-1, so every scored token sees at least ctx/2 tokens of
//     context (the first tokens of a window, with almost no context, would dominate the sum);
//   - perplexity = exp(mean negative log-likelihood over all scored tokens); the +/- is
//     perplexity x the standard error of that mean.
// A running estimate after each window goes to stderr; the final line goes to stdout.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/numeric_args.h"
#include "platform/mapped_file.h"
#include "runtime/engine.h"
#include "tokenizer/tokenizer.h"

namespace whale::cli {
namespace {

// -log softmax(row)[target], in double.
double negative_log_likelihood(std::span<const float> row, int32_t target) {
  float max = row[0];
  for (float v : row) max = std::max(max, v);
  double sum = 0;
  for (float v : row) sum += std::exp(double(v) - double(max));
  return double(max) + std::log(sum) - double(row[size_t(target)]);
}

int run(const Args& a) {
  auto model = a.get("--model"), file = a.get("--file");
  if (!model || !file) return fail(make_error("perplexity: --model M and --file F are required"));
  if (!a.positionals.empty())
    return fail(make_error("perplexity: unexpected argument '%s'", a.positionals[0].c_str()));
  int64_t ctx = 512, batch_size = 512, threads = 0;
  if (auto v = a.get("--ctx")) {
    auto r = parse_int("--ctx", *v, 4, INT32_MAX);
    if (!r) return fail(r.error());
    ctx = r.value();
  }
  if (auto v = a.get("--batch")) {
    auto r = parse_int("--batch", *v, 1, INT32_MAX);
    if (!r) return fail(r.error());
    batch_size = r.value();
  }

  if (auto v = a.get("--threads")) {
    auto r = parse_int("--threads", *v, 1, 4096);
    if (!r) return fail(r.error());
    threads = r.value();
  }

  auto text = read_text_file(*file);
  if (!text) return fail(text.error());
  auto tokenizer = Tokenizer::from_path(*model);
  if (!tokenizer) return fail(tokenizer.error());
  const Tokenizer& tok = tokenizer.value();
  std::vector<int32_t> tokens;
  // -1: the model wants no BOS (a plain int: GCC 12 misreads an optional here as uninitialized).
  const int32_t bos = tok.add_bos() && tok.bos_id() ? *tok.bos_id() : -1;
  if (bos >= 0) tokens.push_back(bos);
  tok.encode(text.value(), /*parse_special=*/false, tokens);
  const int64_t n_windows = int64_t(tokens.size()) / ctx;
  if (n_windows == 0)
    return fail(make_error("%s is %zu tokens; perplexity needs at least one window of --ctx %lld",
                           file->c_str(), tokens.size(), (long long)ctx));

  auto kv_type = kv_type_option(a);
  if (!kv_type) return fail(kv_type.error());
  auto engine = Engine::load(*model, int(threads), *kv_type);
  if (!engine) return fail(engine.error());
  const Engine& e = *engine.value();
  for (int32_t t : tokens)
    if (int64_t(t) >= e.vocab_size())
      return fail(make_error("token %d from the tokenizer is outside the model's vocabulary (%lld)",
                             t, (long long)e.vocab_size()));
  auto cache = KvCache::create(e.kv_layout(), ctx);
  if (!cache) return fail(cache.error());
  KvCache* caches[1] = {&cache.value()};
  Workspace ws;
  Batch batch;
  std::vector<float> logits;
  const size_t vocab = size_t(e.vocab_size());
  const int64_t first = ctx / 2;  // first scored position of a window

  double nll = 0, nll2 = 0;
  int64_t count = 0;
  std::fprintf(stderr, "perplexity: %zu tokens, %lld windows of %lld, scoring the second half\n",
               tokens.size(), (long long)n_windows, (long long)ctx);
  for (int64_t w = 0; w < n_windows; ++w) {
    const int32_t* window = tokens.data() + w * ctx;
    cache->set_length(0);
    for (int64_t start = 0; start < ctx; start += batch_size) {
      const int64_t end = std::min(ctx, start + batch_size);
      batch.clear();
      for (int64_t j = start; j < end; ++j) {
        const int32_t t = (j == 0 && bos >= 0) ? bos : window[j];
        batch.add(t, int32_t(j), 0, j >= first && j < ctx - 1);
      }
      Status st = e.forward(batch, caches, ws, logits);
      if (!st) return fail(st.error());
      size_t row = 0;
      for (int64_t j = std::max(start, first); j < std::min(end, ctx - 1); ++j, ++row) {
        const double v = negative_log_likelihood(
            std::span<const float>(logits.data() + row * vocab, vocab), window[j + 1]);
        nll += v;
        nll2 += v * v;
        ++count;
      }
    }
    std::fprintf(stderr, "[%lld]%.4f%s", (long long)(w + 1), std::exp(nll / double(count)),
                 w + 1 == n_windows ? "\n" : ",");
  }
  const double mean = nll / double(count);
  const double var = nll2 / double(count) - mean * mean;
  const double ppl = std::exp(mean);
  const double err = count > 1 && var > 0 ? ppl * std::sqrt(var / double(count - 1)) : 0.0;
  std::printf("perplexity: %.4f +/- %.5f (%lld tokens scored in %lld windows of %lld)\n", ppl, err,
              (long long)count, (long long)n_windows, (long long)ctx);
  return 0;
}

}  // namespace

int cmd_perplexity(const std::vector<std::string>& argv) {
  auto args =
      parse_args(argv, {"--model", "--file", "--ctx", "--batch", "--threads", "--kv-type"}, {});
  if (!args.ok()) return fail(args.error());
  try {
    return run(*args);
  } catch (const std::exception& e) {
    return fail(make_error("perplexity: %s", e.what()));
  }
}

}  // namespace whale::cli
