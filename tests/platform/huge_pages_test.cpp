#include "platform/huge_pages.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "platform/mapped_file.h"

namespace whale {
namespace {

TEST(HugeBuffer, IsZeroedAlignedAndMovable) {
  HugeBuffer b(5 << 20);
  ASSERT_NE(b.data(), nullptr);
  EXPECT_EQ(b.bytes(), size_t(5) << 20);
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(uintptr_t(b.data()) % (uintptr_t(2) << 20), 0u);
#endif
  auto* bytes = static_cast<uint8_t*>(b.data());
  for (size_t i = 0; i < b.bytes(); i += 4093) ASSERT_EQ(bytes[i], 0) << i;
  bytes[b.bytes() - 1] = 7;  // the last byte is inside the buffer
  HugeBuffer moved(std::move(b));
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(static_cast<uint8_t*>(moved.data())[moved.bytes() - 1], 7);
  HugeBuffer assigned;
  assigned = std::move(moved);
  EXPECT_EQ(moved.data(), nullptr);
  EXPECT_EQ(assigned.bytes(), size_t(5) << 20);
  EXPECT_EQ(HugeBuffer(0).data(), nullptr);
}

TEST(HugePages, MappedBytesAreReadFromTheMappingThatStartsThere) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "heap memory under AddressSanitizer";
#else
  HugeBuffer b(8 << 20);
  ASSERT_NE(b.data(), nullptr);
  auto* bytes = static_cast<uint8_t*>(b.data());
  for (size_t i = 0; i < b.bytes(); i += 4096) bytes[i] = 1;
  const int64_t huge = huge_mapped_bytes(b.data());
  ASSERT_GE(huge, 0) << "the buffer's mapping was not found in /proc/self/smaps";
  EXPECT_LE(huge, int64_t(8) << 20);
  EXPECT_EQ(huge % (int64_t(2) << 20), 0);
  // Not the start of any mapping.
  EXPECT_EQ(huge_mapped_bytes(bytes + 4096), -1);
#endif
}

// A file big enough for the streaming path (populate, maybe drop and re-read) reads back the
// same bytes whichever way it ends up mapped, twice in a row.
TEST(MappedFile, StreamedWeightsReadBackTheFile) {
  const std::string path =
      testing::TempDir() + "/whale_streamed_" + std::to_string(getpid()) + ".bin";
  const size_t n = size_t(80) << 20;
  {
    std::vector<uint32_t> words(n / 4);
    for (size_t i = 0; i < words.size(); ++i) words[i] = uint32_t(i * 2654435761u);
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(words.data(), 4, words.size(), f), words.size());
    ASSERT_EQ(std::fclose(f), 0);
  }
  for (int round = 0; round < 2; ++round) {
    auto m = MappedFile::open(path, MappedFile::Use::kStreamedWeights);
    ASSERT_TRUE(m.ok()) << m.error().message;
    ASSERT_EQ(m.value()->size(), n);
    const auto* words = reinterpret_cast<const uint32_t*>(m.value()->data());
    for (size_t i = 0; i < n / 4; i += 1021) ASSERT_EQ(words[i], uint32_t(i * 2654435761u)) << i;
    ASSERT_EQ(words[n / 4 - 1], uint32_t((n / 4 - 1) * 2654435761u));
  }
  std::remove(path.c_str());
}

TEST(MappedFile, StreamedWeightsOfAMissingFileIsAnError) {
  auto m = MappedFile::open("/nonexistent/whale.gguf", MappedFile::Use::kStreamedWeights);
  EXPECT_FALSE(m.ok());
}

}  // namespace
}  // namespace whale
