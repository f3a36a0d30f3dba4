// Absorbed MLA decode with its keys split across threads (flash-decoding, deepseek2.cpp
// attend_absorbed) gives the logits of the unsplit pass: several sequences of different lengths
// decoding in one batch on 2 threads (3 sequences: 2 key spans each) and one sequence on 2
// threads (2 spans), each against the sequence decoded alone without a thread pool (1 span).
// The sums only change order, so the logits agree to a few f32 ulps of their magnitude.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "model/model.h"
#include "platform/thread_pool.h"

namespace whale {
namespace {

std::string tiny_model(const std::string& preset) {
  const std::string dir =
      ::testing::TempDir() + "whale_model_split_" + std::to_string(::getpid()) + "_" + preset;
  const std::string cmd = std::string("/usr/bin/python3 ") + WHALE_SOURCE_DIR +
                          "/tools/gen/make_tiny_hf.py " + preset + " " + dir + " > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return dir;
}

// One sequence's private cache: one page of [n_layers][capacity][values_per_token].
struct Cache {
  std::vector<float> memory;
  float* page = nullptr;
  KvView view;
  Cache(const KvLayout& l, int64_t capacity)
      : memory(size_t(l.n_layers * capacity * l.values_per_token)) {
    page = memory.data();
    view = KvView::over(&page, 40, capacity, l);
  }
  Cache(const Cache& o) : memory(o.memory), page(memory.data()), view(o.view) {
    view.pages = &page;
  }
};

// Evaluates tokens[i] at positions[i] of sequence seq_ids[i]; returns every row's logits.
std::vector<float> run(const Model& m, std::vector<Cache>& caches,
                       const std::vector<int32_t>& tokens, const std::vector<int32_t>& positions,
                       const std::vector<int32_t>& seq_ids, ThreadPool* pool) {
  std::vector<KvView> views;
  for (const Cache& c : caches) views.push_back(c.view);
  std::vector<int32_t> rows(tokens.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = int32_t(i);
  BatchView b{tokens, positions, seq_ids, rows, views, MlaForm::kAuto, pool};
  Workspace ws;
  std::vector<float> logits(tokens.size() * size_t(m.config().vocab_size));
  m.forward(b, ws, logits.data());
  return logits;
}

TEST(MlaDecodeSplit, KeySpansAcrossThreadsMatchOneThread) {
  auto loaded = load_model(tiny_model("deepseek-v2-lite"));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const Model& m = **loaded;
  const int64_t V = m.config().vocab_size;
  const int32_t lens[3] = {150, 70, 301};  // different lengths, each >= 2 spans of 32 keys
  std::mt19937 rng(5);
  std::vector<Cache> caches;
  ThreadPool pool(2);
  for (int s = 0; s < 3; ++s) {
    std::vector<Cache> one{Cache(m.kv_layout(), 320)};
    std::vector<int32_t> tokens, positions, seq(size_t(lens[s]), 0);
    for (int32_t p = 0; p < lens[s]; ++p) tokens.push_back(int32_t(rng() % uint32_t(V)));
    for (int32_t p = 0; p < lens[s]; ++p) positions.push_back(p);
    run(m, one, tokens, positions, seq, &pool);  // prefill (expanded form)
    caches.push_back(one[0]);
  }
  const std::vector<int32_t> next = {11, 22, 33};
  auto expect_near = [&](const float* got, const float* want) {
    double mx = 0.0, diff = 0.0;
    for (int64_t i = 0; i < V; ++i) {
      mx = std::max(mx, std::fabs(double(want[i])));
      diff = std::max(diff, std::fabs(double(got[i]) - double(want[i])));
    }
    EXPECT_LE(diff, 1e-5 * mx);
    EXPECT_GT(mx, 0.0);
  };
  // Each alone, no pool: one span.
  std::vector<std::vector<float>> alone;
  for (int s = 0; s < 3; ++s) {
    std::vector<Cache> one{caches[size_t(s)]};
    alone.push_back(run(m, one, {next[size_t(s)]}, {lens[s]}, {0}, nullptr));
  }
  // All three in one batch on 2 threads.
  {
    std::vector<Cache> all(caches);
    const auto got = run(m, all, next, {lens[0], lens[1], lens[2]}, {0, 1, 2}, &pool);
    for (int s = 0; s < 3; ++s) {
      SCOPED_TRACE(s);
      expect_near(got.data() + s * V, alone[size_t(s)].data());
    }
  }
  // The longest alone on 2 threads.
  {
    std::vector<Cache> one{caches[2]};
    const auto got = run(m, one, {next[2]}, {lens[2]}, {0}, &pool);
    expect_near(got.data(), alone[2].data());
  }
}

}  // namespace
}  // namespace whale
