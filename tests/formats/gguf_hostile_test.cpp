// Hostile GGUF input: every malformed file must give an Error (one line), never a crash, a
// hang or a giant allocation. Three corpora: truncations of a valid file at every byte, targeted
// corruptions built here, and the committed files in tests/data/hostile/gguf/ (written by
// make_hostile_gguf.py, also used by the CLI tests).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "formats/gguf.h"

namespace whale {
namespace {

// Minimal independent GGUF encoder, so the test controls every field (and can get them wrong).
struct Bytes {
  std::vector<uint8_t> b;
  template <typename T>
  Bytes& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof v);
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& pad(size_t a) {
    while (b.size() % a) b.push_back(0);
    return *this;
  }
};

struct Spec {
  uint32_t version = 3;
  uint64_t n_kv = 2, n_tensors = 2;
  uint32_t value_type = 4;  // u32 for "k.u32"
  uint64_t string_len = 5;  // of "hello"
  uint32_t alignment = 32;
  uint32_t n_dims = 2;
  uint64_t dim0 = 32, dim1 = 2;
  uint32_t tensor_type = 8;  // Q8_0
  uint64_t offset_b = 96;    // second tensor (after 2 * 34 bytes of "a", aligned)
};

// Two key/values and two tensors: "a" (Q8_0 [32, 2], 68 bytes) and "b" (F32 [8]).
std::vector<uint8_t> build(const Spec& s) {
  Bytes g;
  g.b = {'G', 'G', 'U', 'F'};
  g.put(s.version).put(s.n_tensors).put(s.n_kv);
  g.str("general.alignment").put<uint32_t>(4).put(s.alignment);
  g.str("k.str").put<uint32_t>(8).put(s.string_len);
  g.b.insert(g.b.end(), {'h', 'e', 'l', 'l', 'o'});
  g.str("a").put(s.n_dims);
  for (uint32_t d = 0; d < std::min<uint32_t>(s.n_dims, 6); ++d) g.put(d == 0 ? s.dim0 : s.dim1);
  g.put(s.tensor_type).put<uint64_t>(0);
  g.str("b").put<uint32_t>(1).put<uint64_t>(8).put<uint32_t>(0).put(s.offset_b);
  g.pad(s.alignment && s.alignment <= 4096 ? s.alignment : 32);
  size_t data = g.b.size();
  g.b.resize(data + 96 + 32, 0x3c);  // tensor bytes (0x3c3c: a finite f16)
  return g.b;
}

Result<GgufFile> parse(const std::vector<uint8_t>& bytes) {
  return GgufFile::parse(std::span<const uint8_t>(bytes.data(), bytes.size()));
}

void expect_error(const std::vector<uint8_t>& bytes, const std::string& what,
                  const std::string& must_mention = "") {
  auto f = parse(bytes);
  ASSERT_FALSE(f.ok()) << what << " was accepted";
  const std::string& m = f.error().message;
  EXPECT_FALSE(m.empty()) << what;
  EXPECT_EQ(m.find('\n'), std::string::npos) << what << ": " << m;
  if (!must_mention.empty()) {
    EXPECT_NE(m.find(must_mention), std::string::npos) << what << ": " << m;
  }
}

TEST(GgufHostile, BaselineIsValid) {
  auto f = parse(build(Spec{}));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->get_string("k.str"), "hello");
}

TEST(GgufHostile, TruncatedAtEveryByte) {
  auto full = build(Spec{});
  auto f = parse(full);
  ASSERT_TRUE(f.ok());
  // Every prefix that cuts into the header, metadata, tensor infos or tensor data must fail.
  uint64_t end_of_data = f->data_offset() + 96 + 32;
  for (size_t n = 0; n < end_of_data; ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + long(n));
    expect_error(cut, "prefix of " + std::to_string(n) + " bytes");
  }
}

TEST(GgufHostile, TargetedCorruptions) {
  auto with = [](auto change) {
    Spec s;
    change(s);
    return build(s);
  };
  expect_error(with([](Spec& s) { s.version = 1; }), "version 1", "version");
  expect_error(with([](Spec& s) { s.version = 4; }), "version 4", "version");
  expect_error(with([](Spec& s) { s.n_kv = uint64_t(1) << 60; }), "huge n_kv", "count");
  expect_error(with([](Spec& s) { s.n_tensors = uint64_t(1) << 60; }), "huge n_tensors", "count");
  expect_error(with([](Spec& s) { s.n_kv = 3; }), "n_kv one too many");
  expect_error(with([](Spec& s) { s.string_len = uint64_t(1) << 62; }), "huge string", "k.str");
  expect_error(with([](Spec& s) { s.string_len = ~uint64_t(0); }), "string len -1", "k.str");
  expect_error(with([](Spec& s) { s.alignment = 0; }), "alignment 0", "alignment");
  expect_error(with([](Spec& s) { s.alignment = 48; }), "alignment 48", "alignment");
  expect_error(with([](Spec& s) { s.n_dims = 0; }), "n_dims 0", "'a'");
  expect_error(with([](Spec& s) { s.n_dims = 5; }), "n_dims 5", "'a'");
  expect_error(with([](Spec& s) {
                 s.dim0 = uint64_t(1) << 40;
                 s.dim1 = uint64_t(1) << 40;
               }),
               "dims overflow", "overflow");
  expect_error(with([](Spec& s) { s.dim0 = 0; }), "zero dim", "'a'");
  expect_error(with([](Spec& s) { s.tensor_type = 99; }), "unknown tensor type", "type 99");
  expect_error(with([](Spec& s) { s.tensor_type = 5; }), "removed tensor type", "type 5");
  expect_error(with([](Spec& s) { s.dim0 = 48; }), "row not whole blocks", "block size");
  expect_error(with([](Spec& s) { s.offset_b = 100; }), "misaligned offset", "'b'");
  expect_error(with([](Spec& s) { s.offset_b = 64; }), "overlapping tensors", "overlap");
  expect_error(with([](Spec& s) { s.offset_b = 0; }), "same offset", "overlap");
  expect_error(with([](Spec& s) { s.offset_b = uint64_t(1) << 40; }), "offset past EOF", "'b'");
  expect_error(with([](Spec& s) { s.offset_b = ~uint64_t(31); }), "offset overflow", "'b'");
  expect_error(with([](Spec& s) { s.dim1 = 1000; }), "data past EOF", "'a'");

  // Value-level corruptions patched into the baseline: the u32 value type of general.alignment
  // sits right after the key; replace it with bad value types.
  auto base = build(Spec{});
  size_t type_at = 24 + 8 + std::strlen("general.alignment");
  for (uint32_t bad : {13u, 0xFFFFFFFFu}) {
    auto b = base;
    std::memcpy(&b[type_at], &bad, 4);
    expect_error(b, "value type " + std::to_string(bad), "unknown value type");
  }
  {
    auto b = base;  // general.alignment as a string: wrong type
    uint32_t str_type = 8;
    std::memcpy(&b[type_at], &str_type, 4);
    expect_error(b, "alignment as string");
  }
}

TEST(GgufHostile, DeeplyNestedAndHugeArrays) {
  Bytes g;
  g.b = {'G', 'G', 'U', 'F'};
  g.put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(1).str("x").put<uint32_t>(9);
  for (int i = 0; i < 100; ++i) g.put<uint32_t>(9).put<uint64_t>(1);
  g.put<uint32_t>(0).put<uint64_t>(0);
  expect_error(g.b, "100 nested arrays", "nested");

  Bytes h;
  h.b = {'G', 'G', 'U', 'F'};
  h.put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(1).str("x").put<uint32_t>(9);
  h.put<uint32_t>(8).put<uint64_t>(uint64_t(1) << 50);  // 2^50 strings
  expect_error(h.b, "array of 2^50 strings", "count");
}

TEST(GgufHostile, CommittedCorpusAllFail) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(WHALE_SOURCE_DIR) / "tests/data/hostile/gguf";
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".gguf") continue;
    ++n;
    auto f = GgufFile::open(e.path().string());
    ASSERT_FALSE(f.ok()) << e.path() << " was accepted";
    EXPECT_EQ(f.error().message.find('\n'), std::string::npos) << e.path();
    EXPECT_NE(f.error().message.find(e.path().string()), std::string::npos)
        << "error should name the file: " << f.error().message;
    if (std::getenv("WHALE_PRINT_ERRORS")) std::printf("%s\n", f.error().message.c_str());
  }
  EXPECT_GE(n, 30);
}

}  // namespace
}  // namespace whale
