// GGUF writer -> reader round trips: every value type, nested arrays, alignments, tensor data.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "formats/gguf.h"

namespace whale {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "whale_gguf_" + std::to_string(getpid()) + "_" + name;
}

GgufValue make(GgufValueType t, decltype(GgufValue::v) v) {
  GgufValue g;
  g.type = t;
  g.v = std::move(v);
  return g;
}

GgufValue array_of(GgufValueType et, std::vector<GgufValue> items) {
  auto a = std::make_shared<GgufArray>();
  a->element_type = et;
  a->items = std::move(items);
  return make(GgufValueType::ARRAY, std::move(a));
}

bool same_value(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type) return false;
  if (a.type != GgufValueType::ARRAY) return a.v == b.v;
  const GgufArray *x = a.as_array(), *y = b.as_array();
  if (x->element_type != y->element_type || x->items.size() != y->items.size()) return false;
  for (size_t i = 0; i < x->items.size(); ++i)
    if (!same_value(x->items[i], y->items[i])) return false;
  return true;
}

std::vector<std::pair<std::string, GgufValue>> all_value_types() {
  using T = GgufValueType;
  return {
      {"t.u8", make(T::UINT8, uint64_t(255))},
      {"t.i8", make(T::INT8, int64_t(-128))},
      {"t.u16", make(T::UINT16, uint64_t(65535))},
      {"t.i16", make(T::INT16, int64_t(-32768))},
      {"t.u32", GgufValue::u32(4000000000u)},
      {"t.i32", GgufValue::i32(-2000000000)},
      {"t.f32", GgufValue::f32(3.25f)},
      {"t.bool", GgufValue::boolean(true)},
      {"t.str", GgufValue::str(std::string("h\xc3\xa9llo\0x", 8))},
      {"t.empty_str", GgufValue::str("")},
      {"t.u64", GgufValue::u64(~uint64_t(0))},
      {"t.i64", make(T::INT64, int64_t(INT64_MIN))},
      {"t.f64", make(T::FLOAT64, 1e300)},
      {"t.arr_str", GgufValue::array_of_str({"a", "", "<|end|>"})},
      {"t.arr_i32", GgufValue::array_of_i32({1, -2, 3})},
      {"t.arr_f32", GgufValue::array_of_f32({0.5f, -1e-20f})},
      {"t.arr_empty", array_of(T::UINT8, {})},
      {"t.arr_nested",
       array_of(T::ARRAY, {array_of(T::BOOL, {GgufValue::boolean(false)}),
                           array_of(T::ARRAY, {array_of(T::STRING, {GgufValue::str("deep")})})})},
  };
}

TEST(GgufRoundTrip, EveryValueTypeAndTensorData) {
  for (uint64_t alignment : {32u, 1u, 8u, 64u, 4096u}) {
    std::string path = temp_path("rt_" + std::to_string(alignment) + ".gguf");
    GgufWriter w;
    auto kvs = all_value_types();
    for (auto& [k, v] : kvs) w.set(k, v);
    w.set("t.u8", make(GgufValueType::UINT8, uint64_t(7)));  // replace keeps position
    kvs[0].second = make(GgufValueType::UINT8, uint64_t(7));
    std::vector<float> a = {1, 2, 3, 4, 5, 6};
    w.add_tensor("a", {3, 2}, TensorType::F32, [&](std::vector<uint8_t>& out) {
      out.resize(a.size() * 4);
      std::memcpy(out.data(), a.data(), out.size());
      return Status::Ok();
    });
    w.add_tensor("q", {64}, TensorType::Q8_0, [](std::vector<uint8_t>& out) {
      out.assign(68, 0);
      for (size_t i = 0; i < out.size(); ++i) out[i] = uint8_t(i);
      return Status::Ok();
    });
    ASSERT_TRUE(w.write(path, alignment).ok());

    auto f = GgufFile::open(path);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), alignment);
    const auto& md = f->metadata();
    size_t extra = alignment != 32 ? 1 : 0;  // general.alignment appended
    ASSERT_EQ(md.size(), kvs.size() + extra);
    for (size_t i = 0; i < kvs.size(); ++i) {
      EXPECT_EQ(md[i].first, kvs[i].first);
      EXPECT_TRUE(same_value(md[i].second, kvs[i].second)) << kvs[i].first;
    }
    EXPECT_EQ(f->get_int("t.i32"), -2000000000);
    EXPECT_EQ(f->get_int("t.u64"), std::nullopt);  // does not fit int64
    EXPECT_EQ(f->get_float("t.f32"), 3.25);
    EXPECT_EQ(f->get_bool("t.bool"), true);
    EXPECT_EQ(f->get_string("t.empty_str"), "");
    EXPECT_EQ(f->get_string("t.u8"), std::nullopt);
    EXPECT_EQ(f->find("missing"), nullptr);

    ASSERT_EQ(f->tensors().size(), 2u);
    const auto* ta = f->find_tensor("a");
    ASSERT_NE(ta, nullptr);
    EXPECT_EQ(ta->shape, (std::vector<uint64_t>{3, 2}));
    auto va = f->view(*ta);
    ASSERT_EQ(va.data.size(), 24u);
    EXPECT_EQ(0, std::memcmp(va.data.data(), a.data(), 24));
    const auto* tq = f->find_tensor("q");
    ASSERT_NE(tq, nullptr);
    EXPECT_EQ(tq->type, TensorType::Q8_0);
    EXPECT_EQ(tq->offset % alignment, 0u);
    auto vq = f->view(*tq);
    ASSERT_EQ(vq.data.size(), 68u);
    EXPECT_EQ(vq.data[67], 67);
    EXPECT_EQ((f->data_offset()) % alignment, 0u);

    // Dropping the metadata keeps the tensors.
    f->drop_metadata();
    EXPECT_TRUE(f->metadata().empty());
    EXPECT_EQ(f->find("t.i32"), nullptr);
    EXPECT_EQ(f->get_string("t.str"), std::nullopt);
    ASSERT_NE(f->find_tensor("q"), nullptr);
    EXPECT_EQ(f->view(*f->find_tensor("q")).data[67], 67);
    std::remove(path.c_str());
  }
}

TEST(GgufWriter, ProducerErrorRemovesTmpAndKeepsNoFile) {
  std::string path = temp_path("fail.gguf");
  GgufWriter w;
  w.add_tensor("x", {4}, TensorType::F32,
               [](std::vector<uint8_t>&) -> Status { return make_error("disk on fire"); });
  Status st = w.write(path);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "disk on fire");
  EXPECT_FALSE(std::ifstream(path).good());
  EXPECT_FALSE(std::ifstream(path + ".tmp").good());
}

TEST(GgufWriter, RejectsBadInputs) {
  std::string path = temp_path("bad.gguf");
  auto ok_producer = [](std::vector<uint8_t>& out) {
    out.assign(16, 0);
    return Status::Ok();
  };
  {
    GgufWriter w;
    w.add_tensor("x", {4}, TensorType::F32, ok_producer);
    w.add_tensor("x", {4}, TensorType::F32, ok_producer);
    EXPECT_FALSE(w.write(path).ok());  // duplicate name
  }
  {
    GgufWriter w;
    w.add_tensor("x", {4}, TensorType::F32, [](std::vector<uint8_t>& out) {
      out.assign(3, 0);
      return Status::Ok();
    });
    EXPECT_FALSE(w.write(path).ok());  // wrong size
  }
  {
    GgufWriter w;
    w.add_tensor("x", {100}, TensorType::Q4_0, ok_producer);
    EXPECT_FALSE(w.write(path).ok());  // not whole blocks
  }
  {
    GgufWriter w;
    EXPECT_FALSE(w.write(path, 24).ok());  // alignment not a power of two
  }
  {
    GgufWriter w;
    EXPECT_FALSE(w.write("/nonexistent-dir/x.gguf").ok());
  }
  {
    GgufWriter w;  // value whose variant does not match its type
    GgufValue v;
    v.type = GgufValueType::STRING;
    v.v = uint64_t(1);
    w.set("bad", v);
    EXPECT_FALSE(w.write(path).ok());
  }
  EXPECT_FALSE(std::ifstream(path).good());
  EXPECT_FALSE(std::ifstream(path + ".tmp").good());
}

}  // namespace
}  // namespace whale
