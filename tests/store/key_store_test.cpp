// SHA-256 against FIPS 180-4 / NIST vectors, and the key store: keys verify only with their
// exact text, are stored hashed, revocation sticks, the ledger adds up and survives reopening.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "store/key_store.h"
#include "store/sha256.h"

namespace fs = std::filesystem;
using namespace whale;

namespace {

std::string hex_sha(std::string_view s) {
  auto d = sha256(s);
  return to_hex(d.data(), d.size());
}

TEST(Sha256, StandardVectors) {
  EXPECT_EQ(hex_sha(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_sha("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex_sha(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Lengths around the padding boundary (55, 56, 64 bytes), checked with Python hashlib.
  EXPECT_EQ(hex_sha(std::string(55, 'x')),
            "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  EXPECT_EQ(hex_sha(std::string(56, 'x')),
            "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  EXPECT_EQ(hex_sha(std::string(64, 'x')),
            "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
}

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("whale-keys-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    path_ = (dir_ / "sub" / "k.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string path_;
};

TEST_F(KeyStoreTest, CreateVerifyRevoke) {
  auto store = KeyStore::open(path_);
  ASSERT_TRUE(store) << store.error().message;
  auto made = (*store)->create("alice", 10, 1000);
  ASSERT_TRUE(made) << made.error().message;
  const std::string key = made->second;
  ASSERT_EQ(key.size(), 3u + 16 + 1 + 32);
  auto ok = (*store)->verify(key);
  ASSERT_TRUE(ok);
  ASSERT_TRUE(ok->has_value());
  EXPECT_EQ((*ok)->name, "alice");
  EXPECT_EQ((*ok)->requests_per_minute, 10);
  // One changed secret digit, a truncated key, garbage: unknown.
  std::string wrong = key;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  for (const std::string& bad : {wrong, key.substr(0, key.size() - 1), std::string("wk_"),
                                 std::string("Bearer x"), std::string(5000, 'a')}) {
    auto r = (*store)->verify(bad);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->has_value()) << bad;
  }
  EXPECT_TRUE((*store)->revoke(made->first.id));
  auto after = (*store)->verify(key);
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->has_value());
  EXPECT_FALSE((*store)->revoke("0000000000000000"));
  EXPECT_FALSE((*store)->revoke("not-an-id"));
}

TEST_F(KeyStoreTest, SecretNeverStoredInClear) {
  std::string key;
  {
    auto store = KeyStore::open(path_);
    ASSERT_TRUE(store);
    key = (*store)->create("bob", 0, 0)->second;
  }
  const std::string secret = key.substr(20);
  for (const auto& e : fs::directory_iterator(fs::path(path_).parent_path())) {
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(secret), std::string::npos) << e.path();
  }
}

TEST_F(KeyStoreTest, LedgerAddsUpAndSurvivesReopen) {
  int64_t row;
  std::string key;
  {
    auto store = KeyStore::open(path_);
    ASSERT_TRUE(store);
    auto made = (*store)->create("carol", 0, 0);
    row = made->first.row;
    key = made->second;
    for (int i = 0; i < 5; ++i) ASSERT_TRUE((*store)->record_usage(row, {1, 10, 20, 3}));
  }
  auto store = KeyStore::open(path_);
  ASSERT_TRUE(store);
  auto u = (*store)->usage(row);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->requests, 5);
  EXPECT_EQ(u->prompt_tokens, 50);
  EXPECT_EQ(u->completion_tokens, 100);
  EXPECT_EQ(u->cache_hit_tokens, 15);
  auto listed = (*store)->list();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].usage.completion_tokens, 100);
  auto still = (*store)->verify(key);
  ASSERT_TRUE(still);
  EXPECT_TRUE(still->has_value());
}

TEST_F(KeyStoreTest, UnopenablePathIsAnError) {
  auto store = KeyStore::open("/proc/whale-no/k.db");
  EXPECT_FALSE(store);
}

}  // namespace
