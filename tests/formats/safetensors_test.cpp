// safetensors reader: valid files, the committed hostile corpus, truncation at every byte,
// dtype conversion, FP8 block dequantization and sharded checkpoints.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "formats/hf_checkpoint.h"
#include "formats/safetensors.h"
#include "platform/fp16.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> image(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(8);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[size_t(i)] = uint8_t(n >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// The parsed file views `bytes`: the owner pointer keeps the image alive with it.
Result<SafetensorsFile> parse(std::vector<uint8_t> bytes) {
  auto owner = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  return SafetensorsFile::parse(*owner, owner, "test");
}

void expect_one_line_error(const Result<SafetensorsFile>& r, const std::string& what) {
  ASSERT_FALSE(r.ok()) << what;
  EXPECT_FALSE(r.error().message.empty()) << what;
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << what;
}

TEST(Safetensors, ParsesValidFile) {
  std::vector<uint8_t> data(16 + 4 + 0);
  float vals[4] = {1.5f, -2.0f, 0.25f, 8.0f};
  std::memcpy(data.data(), vals, 16);
  data[16] = 0x80;  // bf16 -> 0x3f80 = 1.0 (little endian 0x80 0x3f)
  data[17] = 0x3f;
  data[18] = 0x00;  // f16 0xc000 = -2.0
  data[19] = 0xc0;
  auto r = parse(image(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                       R"("b":{"dtype":"BF16","shape":[],"data_offsets":[16,18]},)"
                       R"("h":{"dtype":"F16","shape":[1],"data_offsets":[18,20]},)"
                       R"("z":{"dtype":"F32","shape":[0,3],"data_offsets":[20,20]},)"
                       R"("__metadata__":{"format":"pt"}})",
                       data));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& f = r.value();
  ASSERT_EQ(f.tensors().size(), 4u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  const StTensor* w = f.find("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->shape, (std::vector<uint64_t>{2, 2}));
  std::vector<float> out(4);
  ASSERT_TRUE(st_to_f32(*w, out.data()).ok());
  EXPECT_EQ(out, std::vector<float>(vals, vals + 4));
  float one = 0, h = 0;
  ASSERT_TRUE(st_to_f32(*f.find("b"), &one).ok());
  ASSERT_TRUE(st_to_f32(*f.find("h"), &h).ok());
  EXPECT_EQ(one, 1.0f);
  EXPECT_EQ(h, -2.0f);
  EXPECT_EQ(f.find("z")->n_elements(), 0u);
  EXPECT_EQ(f.find("missing"), nullptr);
}

TEST(Safetensors, RejectsEachCommittedHostileFile) {
  const fs::path dir = fs::path(WHALE_SOURCE_DIR) / "tests/data/hostile/safetensors";
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    auto r = SafetensorsFile::open(e.path().string());
    expect_one_line_error(r, e.path().filename().string());
    ++n;
  }
  EXPECT_GE(n, 20);  // the corpus must be there (a missing directory would pass vacuously)
}

TEST(Safetensors, TruncationAtEveryByteNeverCrashes) {
  auto full = image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"BF16","shape":[2,2],"data_offsets":[8,16]}})",
                    std::vector<uint8_t>(16, 0x11));
  ASSERT_TRUE(parse(full).ok());
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + long(n));
    expect_one_line_error(parse(cut), "truncated to " + std::to_string(n));
  }
}

TEST(Safetensors, SpecificErrorsNameTheProblem) {
  auto r = parse(image(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                       R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                       std::vector<uint8_t>(24)));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("overlap"), std::string::npos) << r.error().message;
  r = parse(image(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                  R"("a":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}})",
                  std::vector<uint8_t>(32)));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("twice"), std::string::npos) << r.error().message;
  r = parse(
      image(R"({"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}})", std::vector<uint8_t>(16)));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("dtype"), std::string::npos) << r.error().message;
}

TEST(Fp8, DecodesKnownCodes) {
  EXPECT_EQ(fp8_e4m3_to_f32(0x38), 1.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(0x40), 2.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(0xb8), -1.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(0x7e), 448.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(0x01), std::ldexp(1.0f, -9));
  EXPECT_TRUE(std::isnan(fp8_e4m3_to_f32(0x7f)));
}

// A 130 x 200 FP8 weight has 2 x 2 blocks of 128, the last ones partial.
TEST(Fp8, BlockScalesCoverPartialEdgeBlocks) {
  const uint64_t rows = 130, cols = 200;
  std::vector<uint8_t> w(rows * cols);
  for (uint64_t i = 0; i < w.size(); ++i) w[i] = uint8_t((i * 37) % 0x7e);  // no NaN codes
  float scales[4] = {0.5f, 3.0f, 0.125f, 10.0f};
  std::vector<uint8_t> data(w.begin(), w.end());
  data.resize(w.size() + 16);
  std::memcpy(data.data() + w.size(), scales, 16);
  std::string header =
      R"({"w":{"dtype":"F8_E4M3","shape":[130,200],"data_offsets":[0,26000]},)"
      R"("w_scale_inv":{"dtype":"F32","shape":[2,2],"data_offsets":[26000,26016]}})";
  auto r = parse(image(header, data));
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<float> out(rows * cols);
  ASSERT_TRUE(dequantize_fp8_blocks(*r->find("w"), *r->find("w_scale_inv"), 128, out.data()).ok());
  for (uint64_t rr : {0ull, 127ull, 128ull, 129ull})
    for (uint64_t c : {0ull, 127ull, 128ull, 199ull}) {
      float want = fp8_e4m3_to_f32(w[rr * cols + c]) * scales[(rr / 128) * 2 + c / 128];
      EXPECT_EQ(out[rr * cols + c], want) << rr << "," << c;
    }
  // 0x38 (1.0) in the bottom-right block gives exactly that block's scale.
  EXPECT_EQ(fp8_e4m3_to_f32(0x38) * scales[3], 10.0f);

  auto bad = parse(image(R"({"w":{"dtype":"F8_E4M3","shape":[130,200],"data_offsets":[0,26000]},)"
                         R"("s":{"dtype":"F32","shape":[1,2],"data_offsets":[26000,26008]}})",
                         std::vector<uint8_t>(26008)));
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(dequantize_fp8_blocks(*bad->find("w"), *bad->find("s"), 128, out.data()).ok());
}

// ------------------------------------------------------------------- sharded checkpoints

class ShardedCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("whale_st_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    write("config.json", R"({"architectures":["LlamaForCausalLM"],"vocab_size":8,"hidden_size":4,)"
                         R"("intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2})");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  void write_shard(const std::string& name, const std::string& tensor) {
    auto img = image(R"({")" + tensor + R"(":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                     std::vector<uint8_t>(8));
    std::ofstream(dir_ / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(img.data()), long(img.size()));
  }
  fs::path dir_;
};

TEST_F(ShardedCheckpoint, OpensEachShardOnce) {
  write_shard("s1.safetensors", "a");
  write_shard("s2.safetensors", "b");
  write("model.safetensors.index.json",
        R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  auto ck = HfCheckpoint::open(dir_.string());
  ASSERT_TRUE(ck.ok()) << ck.error().message;
  EXPECT_EQ(ck->shard_count(), 2u);
  EXPECT_NE(ck->find("a"), nullptr);
  EXPECT_NE(ck->find("b"), nullptr);
  std::vector<float> v;
  EXPECT_TRUE(ck->read_f32("b", v).ok());
  EXPECT_EQ(v.size(), 2u);
}

TEST_F(ShardedCheckpoint, TensorListedButMissingFromShardIsAnError) {
  write_shard("s1.safetensors", "a");
  write("model.safetensors.index.json",
        R"({"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}})");
  auto ck = HfCheckpoint::open(dir_.string());
  ASSERT_FALSE(ck.ok());
  EXPECT_NE(ck.error().message.find("'b'"), std::string::npos) << ck.error().message;
}

TEST_F(ShardedCheckpoint, RejectsShardPathsOutsideTheDirectoryAndDuplicates) {
  write_shard("s1.safetensors", "a");
  write("model.safetensors.index.json", R"({"weight_map":{"a":"../s1.safetensors"}})");
  EXPECT_FALSE(HfCheckpoint::open(dir_.string()).ok());
  write_shard("s2.safetensors", "a");
  write("model.safetensors.index.json",
        R"({"weight_map":{"a":"s1.safetensors","x":"s2.safetensors"}})");
  EXPECT_FALSE(HfCheckpoint::open(dir_.string()).ok());
  write("model.safetensors.index.json", R"({"weight_map":)");
  EXPECT_FALSE(HfCheckpoint::open(dir_.string()).ok());
}

}  // namespace
}  // namespace whale
