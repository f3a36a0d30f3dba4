// whale bench --model M [-p 512] [-n 128] [-t THREADS] [-r REPS] [-b BATCH] [--json]
// whale bench --membw [--model M] [-t THREADS] [--json]
//
// Measures the two phases of generation the way llama-bench does, so numbers compare:
//   pp: one p-token prompt evaluated as one batch from an empty cache (logits of its last token)
//   tg: n tokens decoded one at a time right after that prompt
// -b B runs B sequences at once, as the server batches them (llama.cpp's batched-bench): pp
// evaluates their B prompts in one batch, tg decodes one token of every sequence per step, and
// both report the tokens per second of all sequences together.
// One warm-up repetition (page cache, thread wake-up, workspace growth) is run and discarded,
// then REPS timed repetitions; each reports min / median / max tokens per second.
//
// Budget numbers (STYLE.md 7), from the GGUF tensor table:
//   decode GB/s  = weight bytes one decode step reads / step time. Every matrix is read whole
//                  except the token embedding (one row; read whole when it doubles as the
//                  output matrix) and routed experts (top-k of n_experts per MoE layer).
//                  With -b, a step's bytes are counted as for one token (a batch may touch
//                  more routed experts), so batched MoE figures are a lower bound.
//   prefill GFLOP/s = 2 * (weight elements multiplied per token, same accounting) * p / time;
//                  attention's own flops are not counted (small at these prompt lengths).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/membw.h"
#include "cli/numeric_args.h"
#include "formats/gguf.h"
#include "kernels/gemm_bf16.h"
#include "kernels/kernels.h"
#include "platform/thread_pool.h"
#include "runtime/engine.h"

namespace whale::cli {
namespace {

struct WeightTraffic {
  bool known = false;
  double bytes_per_token = 0;     // decode: weight bytes read per step
  double elements_per_token = 0;  // multiply-adds per token (prefill flops / 2)
  double file_bytes = 0;
  std::map<std::string, double> bytes_by_type;  // whole file, by tensor type
};

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

WeightTraffic weight_traffic(const std::string& path) {
  WeightTraffic w;
  auto f = GgufFile::open(path);
  if (!f) return w;  // an HF directory: no byte accounting
  w.known = true;
  w.file_bytes = double(f->file_size());
  const bool has_output = f->find_tensor("output.weight") != nullptr;
  const std::string arch = f->get_string("general.architecture").value_or("");
  const int64_t n_experts = f->get_int(arch + ".expert_count").value_or(0);
  const int64_t n_used = f->get_int(arch + ".expert_used_count").value_or(0);
  const double active_experts = n_experts > 0 ? double(n_used) / double(n_experts) : 1.0;
  for (const GgufTensorInfo& t : f->tensors()) {
    w.bytes_by_type[std::string(traits(t.type).name)] += double(t.n_bytes);
    if (t.shape.size() < 2) continue;  // norms and biases: negligible, and not matmuls
    double frac = 1.0;
    if (t.name == "token_embd.weight") {
      if (has_output) {
        w.bytes_per_token += double(t.n_bytes) / double(t.shape[1]);  // one row
        continue;
      }
    } else if (t.name.find("_exps.") != std::string::npos || ends_with(t.name, "_exps")) {
      frac = active_experts;
    }
    w.bytes_per_token += double(t.n_bytes) * frac;
    w.elements_per_token += double(t.n_elements()) * frac;
  }
  return w;
}

struct Stats {
  double min = 0, median = 0, max = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  s.min = v.front();
  s.max = v.back();
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return s;
}

nlohmann::json to_json(const Stats& s) {
  return {{"min", s.min}, {"median", s.median}, {"max", s.max}};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// --membw: this machine's read bandwidth with 1 and T threads, and the decode roofline of the
// model (weight bytes per token / bandwidth) when --model is given.
int membw(const Args& a, int64_t threads) {
  const int t = threads > 0 ? int(threads) : ThreadPool::default_thread_count();
  nlohmann::json j;
  j["buffer_bytes"] = kMembwBufferBytes;
  std::vector<int> counts = {1};
  if (t > 1) counts.push_back(t);
  WeightTraffic wt;
  if (auto m = a.get("--model")) {
    wt = weight_traffic(*m);
    if (!wt.known) return fail(make_error("bench --membw: %s is not a GGUF file", m->c_str()));
    j["model"] = *m;
    j["weight_bytes_per_token"] = wt.bytes_per_token;
  }
  for (int n : counts) {
    auto bw = measure_read_bandwidth(n, kMembwBufferBytes);
    if (!bw) return fail(bw.error());
    const std::string key = std::to_string(n);
    const double bps = bw.value().bytes_per_s;
    j["read_gb_s"][key] = bps / 1e9;
    j["huge_pages"] = bw.value().huge_pages;
    if (wt.known) j["roofline_tg_tok_s"][key] = bps / wt.bytes_per_token;
    if (!a.has("--json")) {
      std::printf("read bandwidth, %d thread%s, %s pages: %6.1f GB/s", n, n > 1 ? "s" : " ",
                  bw.value().huge_pages ? "2 MiB" : "4 KiB", bps / 1e9);
      if (wt.known)
        std::printf("   decode roofline %.1f tok/s (%.0f MB of weights per token)",
                    bps / wt.bytes_per_token, wt.bytes_per_token / 1e6);
      std::printf("\n");
    }
  }
  if (a.has("--json")) std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  auto args = parse_args(argv, {"--model", "-p", "-n", "-t", "-r", "-b", "--kv-type"},
                         {"--json", "--membw"});
  if (!args.ok()) return fail(args.error());
  const Args& a = args.value();
  auto model = a.get("--model");
  if (!a.positionals.empty())
    return fail(make_error("bench: unexpected argument %s", a.positionals[0].c_str()));
  int64_t p = 512, n = 128, threads = 0, reps = 3, batch = 1;
  struct IntOpt {
    const char* name;
    int64_t* value;
    int64_t min, max;
  };
  for (const IntOpt& o :
       {IntOpt{"-p", &p, 1, 1 << 20}, IntOpt{"-n", &n, 0, 1 << 20}, IntOpt{"-t", &threads, 1, 1024},
        IntOpt{"-r", &reps, 1, 1000}, IntOpt{"-b", &batch, 1, 4096}}) {
    if (auto v = a.get(o.name)) {
      auto x = parse_int(o.name, *v, o.min, o.max);
      if (!x) return fail(x.error());
      *o.value = x.value();
    }
  }
  if (a.has("--membw")) return membw(a, threads);
  if (!model) return fail(make_error("bench: --model M is required"));

  auto kv_type = kv_type_option(a);
  if (!kv_type) return fail(kv_type.error());
  // Before the model loads: the second parse of the file's metadata (the vocabulary's strings,
  // ~15 MB for a 152k vocabulary) is then freed into the heap that the model's own parse reuses,
  // instead of adding to the peak RSS that the benchmark reports.
  const WeightTraffic wt = weight_traffic(*model);
  auto engine_r = Engine::load(*model, int(threads), *kv_type);
  if (!engine_r) return fail(engine_r.error());
  const Engine& engine = *engine_r.value();
  const ModelConfig& c = engine.config();
  if (p + n > c.max_position_embeddings && c.max_position_embeddings > 0)
    return fail(make_error("bench: -p %lld + -n %lld exceeds the model's context of %lld",
                           (long long)p, (long long)n, (long long)c.max_position_embeddings));
  // One cache per sequence of the batch.
  std::vector<KvCache> kvs;
  std::vector<KvCache*> caches;
  for (int64_t b = 0; b < batch; ++b) {
    auto cache = KvCache::create(engine.kv_layout(), p + n);
    if (!cache) return fail(cache.error());
    kvs.push_back(std::move(cache.value()));
  }
  for (KvCache& kv : kvs) caches.push_back(&kv);
  Workspace ws;
  std::vector<float> logits;

  // Token ids: a fixed pseudo-random sequence per sequence (the speed does not depend on the
  // values).
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> pick(0, int32_t(c.vocab_size - 1));
  std::vector<int32_t> prompt(size_t(batch * p)), gen(size_t(batch * n));
  for (auto& t : prompt) t = pick(rng);
  for (auto& t : gen) t = pick(rng);
  Batch pp_batch, tg_batch;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < p; ++i)
      pp_batch.add(prompt[size_t(b * p + i)], int32_t(i), int32_t(b), i == p - 1);

  std::vector<double> pp_rates, tg_rates;
  for (int64_t rep = 0; rep <= reps; ++rep) {  // rep 0: warm-up
    auto t0 = std::chrono::steady_clock::now();
    Status st = engine.forward(pp_batch, caches, ws, logits);
    if (!st) return fail(st.error());
    const double pp_s = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; ++i) {
      tg_batch.clear();
      for (int64_t b = 0; b < batch; ++b)
        tg_batch.add(gen[size_t(b * n + i)], int32_t(p + i), int32_t(b), true);
      st = engine.forward(tg_batch, caches, ws, logits);
      if (!st) return fail(st.error());
    }
    const double tg_s = seconds_since(t0);
    if (rep == 0) continue;
    pp_rates.push_back(double(batch * p) / pp_s);
    if (n > 0) tg_rates.push_back(double(batch * n) / tg_s);
  }

  const Stats pp = stats(pp_rates);
  const Stats tg = n > 0 ? stats(tg_rates) : Stats{};
  nlohmann::json j;
  j["model"] = *model;
  j["architecture"] = c.architecture;
  j["shape"] = {{"vocab", c.vocab_size},
                {"hidden", c.hidden_size},
                {"layers", c.num_hidden_layers},
                {"heads", c.num_attention_heads},
                {"kv_heads", c.num_key_value_heads},
                {"intermediate", c.intermediate_size},
                {"experts", c.n_routed_experts},
                {"experts_per_token", c.num_experts_per_tok}};
  j["threads"] = engine.threads();
  j["simd_target"] = kernel_target_name();
  j["kv_type"] = kv_type_name(engine.kv_layout().type);
  j["bf16_dot_products"] = bf16_dot_products();
  j["prompt_tokens"] = p;
  j["gen_tokens"] = n;
  j["repetitions"] = reps;
  j["pp_tok_s"] = to_json(pp);
  j["tg_tok_s"] = to_json(tg);
  j["batch"] = batch;
  j["kv_cache_bytes"] = kvs[0].bytes() * batch;
  j["workspace_bytes"] = ws.bytes();
  if (wt.known) {
    j["file_bytes"] = wt.file_bytes;
    j["tensor_bytes_by_type"] = wt.bytes_by_type;
    j["weight_bytes_per_token"] = wt.bytes_per_token;
    const double step_bytes = wt.bytes_per_token / double(batch);  // per generated token
    j["tg_gb_s"] = to_json(
        {step_bytes * tg.min / 1e9, step_bytes * tg.median / 1e9, step_bytes * tg.max / 1e9});
    const double flops_per_token = 2.0 * wt.elements_per_token;
    j["pp_gflop_s"] = to_json({flops_per_token * pp.min / 1e9, flops_per_token * pp.median / 1e9,
                               flops_per_token * pp.max / 1e9});
  }
  if (a.has("--json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model      %s (%s, %lld layers, hidden %lld)\n", model->c_str(),
              c.architecture.c_str(), (long long)c.num_hidden_layers, (long long)c.hidden_size);
  std::printf("threads    %d   simd %s   kv %s%s\n", engine.threads(), kernel_target_name(),
              kv_type_name(engine.kv_layout().type),
              engine.kv_layout().type == KvType::kBF16 && bf16_dot_products()
                  ? " (attention on vdpbf16ps)"
                  : "");
  if (batch > 1)
    std::printf(
        "batch      %lld sequences (pp: their prompts in one batch; tg: one token of each "
        "per step, tokens/s of all together)\n",
        (long long)batch);
  std::printf("pp%-6lld  %8.2f tok/s  (min %.2f, max %.2f)", (long long)p, pp.median, pp.min,
              pp.max);
  if (wt.known) std::printf("  %.1f GFLOP/s", 2.0 * wt.elements_per_token * pp.median / 1e9);
  std::printf("\n");
  if (n > 0) {
    std::printf("tg%-6lld  %8.2f tok/s  (min %.2f, max %.2f)", (long long)n, tg.median, tg.min,
                tg.max);
    if (wt.known)
      std::printf("  %.1f GB/s of weights", wt.bytes_per_token / double(batch) * tg.median / 1e9);
    std::printf("\n");
  }
  return 0;
}

}  // namespace whale::cli
