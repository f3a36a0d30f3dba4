// The server's paged KV memory: the page pool's accounting under its budget, the radix-tree
// prefix cache (match, share, refcounts, LRU eviction that never touches mapped pages, idle
// eviction), and the engine on pages: a sequence whose cache is scattered pool pages - some
// shared with another sequence, or a copy-on-write copy of a shared page - gives bitwise the
// same logits as on one contiguous KvCache.
#include <gtest/gtest.h>

#include <tuple>

#include <unistd.h>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/engine.h"
#include "runtime/page_pool.h"
#include "runtime/radix_cache.h"

namespace whale {
namespace {

constexpr int64_t P = KvCache::kPageTokens;
using Id = PagePool::PageId;
using Clock = std::chrono::steady_clock;

TEST(PagePool, BudgetRefcountsAndTrim) {
  PagePool pool(1000, 4500);  // four pages of 1000 bytes
  EXPECT_EQ(pool.capacity(), 4u);
  EXPECT_EQ(pool.allocated(), 0u);  // nothing until first use
  std::vector<Id> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(pool.allocate());
    ASSERT_NE(ids.back(), PagePool::kNoPage);
    EXPECT_EQ(pool.data(ids.back())[0], 0.0f);  // fresh memory is zeroed
  }
  EXPECT_EQ(pool.allocate(), PagePool::kNoPage);  // the budget is spent
  EXPECT_EQ(pool.live(), 4u);
  EXPECT_EQ(pool.allocated_bytes(), 4000u);
  pool.retain(ids[0]);
  EXPECT_EQ(pool.refs(ids[0]), 2);
  pool.release(ids[0]);
  EXPECT_EQ(pool.live(), 4u);  // still referenced once
  pool.data(ids[1])[3] = 7.0f;
  pool.release(ids[1]);
  EXPECT_EQ(pool.live(), 3u);
  EXPECT_EQ(pool.allocated(), 4u);  // on the free list, memory kept for reuse
  const Id again = pool.allocate();
  EXPECT_EQ(again, ids[1]);
  EXPECT_EQ(pool.data(again)[3], 7.0f);  // recycled, not cleared
  // cached_idle: held by the prefix cache and nothing else.
  pool.set_cached(ids[2], true);
  EXPECT_EQ(pool.cached_idle(), 1u);
  pool.retain(ids[2]);  // a sequence maps it
  EXPECT_EQ(pool.cached_idle(), 0u);
  pool.release(ids[2]);
  EXPECT_EQ(pool.cached_idle(), 1u);
  pool.set_cached(ids[2], false);
  EXPECT_EQ(pool.cached_idle(), 0u);
  // trim frees only the free list; an idle pool goes back to no memory at all.
  pool.release(ids[3]);
  EXPECT_EQ(pool.trim(), 1u);
  EXPECT_EQ(pool.allocated(), 3u);
  for (Id id : {ids[0], again, ids[2]}) pool.release(id);
  EXPECT_EQ(pool.live(), 0u);
  EXPECT_EQ(pool.trim(), 3u);
  EXPECT_EQ(pool.allocated_bytes(), 0u);
  EXPECT_NE(pool.allocate(), PagePool::kNoPage);  // usable again
  PagePool tiny(1000, 10);                        // a budget below one page still holds one
  EXPECT_EQ(tiny.capacity(), 1u);
}

// Token pages: page k of sequence `seed`.
std::vector<int32_t> tokens_of(int seed, int64_t n) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[size_t(i)] = int32_t(seed * 1000 + i);
  return t;
}

// Inserts every full page of `toks` (fresh pool pages), as a finished sequence would, and
// drops the sequence's references: the tree alone holds them.
std::vector<Id> insert_all(RadixCache& rc, PagePool& pool, const std::vector<int32_t>& toks,
                           Clock::time_point now) {
  RadixCache::Node* node = nullptr;
  std::vector<Id> pages;
  for (size_t i = 0; (i + 1) * size_t(P) <= toks.size(); ++i) {
    const Id p = pool.allocate();
    EXPECT_NE(p, PagePool::kNoPage);
    node =
        rc.insert(node, std::span<const int32_t>(toks).subspan(i * size_t(P), size_t(P)), p, now);
    pages.push_back(RadixCache::page_of(node));
    pool.release(p);
  }
  return pages;
}

TEST(RadixCache, MatchSharesWholePagesByReference) {
  PagePool pool(64, 64 * 16);
  RadixCache rc(pool);
  const auto now = Clock::now();
  const auto a = tokens_of(1, 3 * P + 5);  // three full pages and a partial one
  const auto pa = insert_all(rc, pool, a, now);
  ASSERT_EQ(pa.size(), 3u);
  EXPECT_EQ(rc.size(), 3u);
  EXPECT_EQ(pool.cached_idle(), 3u);
  // Same first two pages, then different tokens.
  auto b = tokens_of(1, 2 * P);
  b.push_back(5);
  b.push_back(6);
  auto m = rc.match(b, 100, now);
  ASSERT_EQ(m.pages.size(), 2u);
  EXPECT_EQ(m.pages[0], pa[0]);
  EXPECT_EQ(m.pages[1], pa[1]);
  EXPECT_EQ(pool.refs(pa[0]), 2);  // tree + the caller
  EXPECT_EQ(pool.cached_idle(), 1u);
  EXPECT_EQ(RadixCache::page_of(m.node), pa[1]);
  EXPECT_EQ(RadixCache::page_of(RadixCache::parent_of(m.node)), pa[0]);
  EXPECT_EQ(RadixCache::parent_of(RadixCache::parent_of(m.node)), nullptr);
  // max_pages bounds the match; a partial page never matches; a different first page: nothing.
  auto m1 = rc.match(a, 1, now);
  EXPECT_EQ(m1.pages.size(), 1u);
  auto m3 = rc.match(std::span<const int32_t>(a).first(3 * P - 1), 100, now);
  EXPECT_EQ(m3.pages.size(), 2u);
  auto none = rc.match(tokens_of(2, 4 * P), 100, now);
  EXPECT_TRUE(none.pages.empty());
  EXPECT_EQ(none.node, nullptr);
  // Inserting a page the tree already has keeps the tree's page.
  const Id dup = pool.allocate();
  RadixCache::Node* n = rc.insert(nullptr, std::span<const int32_t>(a).first(P), dup, now);
  EXPECT_EQ(RadixCache::page_of(n), pa[0]);
  EXPECT_EQ(pool.refs(dup), 1);  // not retained by the tree
  EXPECT_EQ(rc.size(), 3u);
  pool.release(dup);
  for (auto* mm : {&m, &m1, &m3})
    for (Id p : mm->pages) pool.release(p);
  EXPECT_EQ(pool.refs(pa[0]), 1);
  EXPECT_EQ(pool.cached_idle(), 3u);
}

TEST(RadixCache, LruEvictionSparesMappedPagesAndTakesLeavesFirst) {
  PagePool pool(64, 64 * 16);
  RadixCache rc(pool);
  auto t0 = Clock::now();
  const auto a = tokens_of(1, 2 * P), b = tokens_of(2, 2 * P), c = tokens_of(3, 2 * P);
  const auto pa = insert_all(rc, pool, a, t0);
  const auto pb = insert_all(rc, pool, b, t0 + std::chrono::seconds(1));
  const auto pc = insert_all(rc, pool, c, t0 + std::chrono::seconds(2));
  EXPECT_EQ(rc.size(), 6u);
  // a is the least recently used, but a running sequence maps it: b goes first instead.
  auto ma = rc.match(a, 100, t0 + std::chrono::seconds(3));
  ASSERT_EQ(ma.pages.size(), 2u);
  auto mc = rc.match(c, 100, t0 + std::chrono::seconds(4));  // c is now the most recent
  for (Id p : mc.pages) pool.release(p);
  EXPECT_EQ(rc.evict(1), 1u);
  EXPECT_EQ(pool.refs(pb[1]), 0);  // b's leaf went, its first page stays
  EXPECT_EQ(pool.refs(pb[0]), 1);
  EXPECT_EQ(rc.evict(1), 1u);  // then the first page, older than c's leaf
  EXPECT_EQ(pool.refs(pb[0]), 0);
  EXPECT_EQ(pool.live(), 4u);
  // Asking for more than is evictable takes only the unmapped pages (c's); a's stay.
  EXPECT_EQ(rc.evict(100), 2u);
  EXPECT_EQ(rc.size(), 2u);
  EXPECT_EQ(pool.refs(pa[0]), 2);
  EXPECT_EQ(pool.refs(pc[0]), 0);
  for (Id p : ma.pages) pool.release(p);
  // Idle eviction: only pages last used before the cutoff.
  EXPECT_EQ(rc.evict_idle(t0 + std::chrono::seconds(3)), 0u);
  EXPECT_EQ(rc.evict_idle(t0 + std::chrono::seconds(4)), 2u);
  EXPECT_EQ(rc.size(), 0u);
  EXPECT_EQ(pool.live(), 0u);
}

TEST(RadixCache, DestructionReleasesEveryPage) {
  PagePool pool(64, 64 * 64);
  {
    RadixCache rc(pool);
    insert_all(rc, pool, tokens_of(1, 20 * P), Clock::now());
    EXPECT_EQ(pool.live(), 20u);
  }
  EXPECT_EQ(pool.live(), 0u);
}

// --- the engine on pages ---

std::shared_ptr<const Engine> load(const std::string& preset, KvType kv_type) {
  const std::string dir =
      ::testing::TempDir() + "whale_pages_" + std::to_string(::getpid()) + "_" + preset;
  const std::string cmd = std::string("/usr/bin/python3 ") + WHALE_SOURCE_DIR +
                          "/tools/gen/make_tiny_hf.py " + preset + " " + dir + " > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto e = Engine::load(dir, 0, kv_type);
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
  return e.ok() ? e.value() : nullptr;
}

// Evaluates toks[from, to) at positions from.. on `cache`, all logits.
std::vector<float> run(const Engine& e, KvCache& cache, const std::vector<int32_t>& toks,
                       size_t from, size_t to) {
  Batch b;
  for (size_t i = from; i < to; ++i) b.add(toks[i], int32_t(i), 0, true);
  KvCache* caches[1] = {&cache};
  Workspace ws;
  std::vector<float> logits;
  Status st = e.forward(b, caches, ws, logits);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  return logits;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// (model preset, how the cache stores its values): f16 and bf16 caches share and copy pages the
// same way.
class PagedEngineTest : public ::testing::TestWithParam<std::tuple<std::string, KvType>> {};

TEST_P(PagedEngineTest, PagesGiveBitwiseTheLogitsOfAContiguousCache) {
  auto engine = load(std::get<0>(GetParam()), std::get<1>(GetParam()));
  ASSERT_TRUE(engine);
  const KvLayout layout = engine->kv_layout();
  PagePool pool(KvCache::page_bytes(layout), KvCache::page_bytes(layout) * 32);
  // Scatter the pages: allocate a few, free every other one, so page order != address order.
  std::vector<Id> scratch;
  for (int i = 0; i < 8; ++i) scratch.push_back(pool.allocate());
  for (int i = 0; i < 8; i += 2) pool.release(scratch[size_t(i)]);
  auto paged = [&](size_t n_pages) {
    KvCache c = KvCache::over_pages(layout);
    for (size_t i = 0; i < n_pages; ++i) c.push_page(pool.data(pool.allocate()));
    return c;
  };
  std::vector<int32_t> a(size_t(3 * P + 3));
  for (size_t i = 0; i < a.size(); ++i) a[i] = int32_t(1 + (i * 37) % 200);
  const size_t split = size_t(2 * P);  // two batches: the first fills two whole pages

  // A on a contiguous cache and on pages.
  auto ref = KvCache::create(layout, 4 * P);
  ASSERT_TRUE(ref.ok());
  const auto ref1 = run(*engine, *ref, a, 0, split), ref2 = run(*engine, *ref, a, split, a.size());
  KvCache pa = paged(4);
  EXPECT_EQ(pa.capacity(), 4 * P);
  EXPECT_TRUE(same_bits(run(*engine, pa, a, 0, split), ref1));
  EXPECT_TRUE(same_bits(run(*engine, pa, a, split, a.size()), ref2));

  // B shares A's first two pages by reference and continues differently.
  std::vector<int32_t> b(a.begin(), a.begin() + std::ptrdiff_t(split));
  for (int i = 0; i < 9; ++i) b.push_back(int32_t(150 + i));
  auto refb = KvCache::create(layout, 4 * P);
  ASSERT_TRUE(refb.ok());
  run(*engine, *refb, b, 0, split);
  const auto refb2 = run(*engine, *refb, b, split, b.size());
  KvCache pb = KvCache::over_pages(layout);
  pb.push_page(pa.page(0));
  pb.push_page(pa.page(1));
  const Id own = pool.allocate();
  pb.push_page(pool.data(own));
  pb.set_length(int64_t(split));
  const std::vector<float> page1(pa.page(1), pa.page(1) + KvCache::page_bytes(layout) / 4);
  EXPECT_TRUE(same_bits(run(*engine, pb, b, split, b.size()), refb2));

  // Copy on write: C is exactly A's first two pages; it maps a copy of the second page and
  // recomputes the last token into it, leaving A's page untouched.
  std::vector<int32_t> c(a.begin(), a.begin() + std::ptrdiff_t(split));
  c.push_back(77);
  auto refc = KvCache::create(layout, 4 * P);
  ASSERT_TRUE(refc.ok());
  run(*engine, *refc, c, 0, split);
  refc->set_length(int64_t(split) - 1);
  const auto refc2 = run(*engine, *refc, c, split - 1, c.size());
  KvCache pc = KvCache::over_pages(layout);
  pc.push_page(pa.page(0));
  const Id copy = pool.allocate();
  std::memcpy(pool.data(copy), pa.page(1), KvCache::page_bytes(layout));
  pc.push_page(pool.data(copy));
  pc.push_page(pool.data(pool.allocate()));
  pc.set_length(int64_t(split) - 1);
  EXPECT_TRUE(same_bits(run(*engine, pc, c, split - 1, c.size()), refc2));
  EXPECT_EQ(std::memcmp(page1.data(), pa.page(1), KvCache::page_bytes(layout)), 0);

  // Overflowing the mapped pages is an Error, as for a contiguous cache.
  KvCache small = KvCache::over_pages(layout);
  small.push_page(pool.data(own));
  Batch over;
  for (int i = 0; i < int(P) + 1; ++i) over.add(3, i, 0, false);
  KvCache* caches[1] = {&small};
  Workspace ws;
  std::vector<float> logits;
  EXPECT_FALSE(engine->forward(over, caches, ws, logits).ok());
}

INSTANTIATE_TEST_SUITE_P(
    Families, PagedEngineTest,
    ::testing::Combine(::testing::Values("deepseek-v3", "deepseek-v2-lite", "qwen2", "llama"),
                       ::testing::Values(KvType::kF32, KvType::kF16, KvType::kBF16)),
    [](const auto& info) {
      std::string s = std::get<0>(info.param);
      for (char& ch : s)
        if (ch == '-') ch = '_';
      const KvType t = std::get<1>(info.param);
      return s + (t == KvType::kF16 ? "_f16" : t == KvType::kBF16 ? "_bf16" : "_f32");
    });

}  // namespace
}  // namespace whale
