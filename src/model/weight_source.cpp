#include "model/weight_source.h"

#include <sys/stat.h>

#include <deque>
#include <map>

#include "formats/gguf.h"
#include "formats/hf_checkpoint.h"
#include "formats/hf_to_gguf.h"
#include "platform/huge_pages.h"
#include "quant/dequantize.h"

namespace whale {

namespace {

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "{";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "}";
}

template <typename T>
std::string shape_text_u(const std::vector<T>& s) {
  std::vector<int64_t> v(s.begin(), s.end());
  return shape_text(v);
}

int64_t rows_of(const std::vector<int64_t>& gguf_shape) {
  int64_t rows = 1;
  for (size_t i = 1; i < gguf_shape.size(); ++i) rows *= gguf_shape[i];
  return rows;
}

// Small vectors (norms, biases) are converted to f32 and kept here, whatever their stored type.
class VectorStore {
 public:
  const float* add(std::vector<float> v) {
    store_.push_back(std::move(v));
    return store_.back().data();
  }

 private:
  std::deque<std::vector<float>> store_;  // deque: pointers stay valid as it grows
};

// ---------------------------------------------------------------------------------------- GGUF

class GgufWeightSource final : public WeightSource {
 public:
  GgufWeightSource(GgufFile file, ModelConfig config)
      : file_(std::move(file)), config_(std::move(config)) {}

  const ModelConfig& config() const override { return config_; }
  bool has(const std::string& name) const override { return file_.find_tensor(name) != nullptr; }
  bool rope_rows_interleaved() const override { return config_.arch == ModelArch::llama; }
  bool is_gguf() const override { return true; }

  Result<MatrixView> matrix(const std::string& name,
                            const std::vector<int64_t>& gguf_shape) override {
    const GgufTensorInfo* t = file_.find_tensor(name);
    if (!t) return make_error("model file has no tensor '%s'", name.c_str());
    std::vector<int64_t> got(t->shape.begin(), t->shape.end());
    if (got != gguf_shape)
      return make_error("tensor '%s' has shape %s, the config implies %s", name.c_str(),
                        shape_text(got).c_str(), shape_text(gguf_shape).c_str());
    auto v =
        make_matrix_view(t->type, file_.view(*t).data.data(), rows_of(gguf_shape), gguf_shape[0]);
    if (!v) return Error{"tensor '" + name + "': " + v.error().message};
    return v;
  }

  Result<std::vector<MatrixView>> experts(const std::string& name, int64_t n_expert, int64_t rows,
                                          int64_t cols) override {
    auto all = matrix(name, {cols, rows, n_expert});
    if (!all) return all.error();
    std::vector<MatrixView> out;
    for (int64_t e = 0; e < n_expert; ++e) out.push_back(all->row_slice(e * rows, rows));
    return out;
  }

  Result<const float*> vector(const std::string& name, int64_t n) override {
    const GgufTensorInfo* t = file_.find_tensor(name);
    if (!t) return make_error("model file has no tensor '%s'", name.c_str());
    if (t->shape.size() != 1 || int64_t(t->shape[0]) != n)
      return make_error("tensor '%s' has shape %s, the config implies {%lld}", name.c_str(),
                        shape_text_u(t->shape).c_str(), (long long)n);
    std::vector<float> v(static_cast<size_t>(n));
    Status st = dequantize_row(t->type, file_.view(*t).data.data(), v.data(), n);
    if (!st) return Error{"tensor '" + name + "': " + st.error().message};
    return vectors_.add(std::move(v));
  }

 private:
  GgufFile file_;
  ModelConfig config_;
  VectorStore vectors_;
};

// ------------------------------------------------------------------------------ HF checkpoint

std::optional<TensorType> in_place_type(StDtype d) {
  switch (d) {
    case StDtype::F32:
      return TensorType::F32;
    case StDtype::F16:
      return TensorType::F16;
    case StDtype::BF16:
      return TensorType::BF16;
    default:
      return std::nullopt;
  }
}

class HfWeightSource final : public WeightSource {
 public:
  explicit HfWeightSource(HfCheckpoint ck) : ck_(std::move(ck)) {}

  // Builds the GGUF-name -> HF-name(s) table from the converter's plan (which also checks every
  // HF tensor's presence and shape against config.json).
  Status index() {
    auto plan = plan_gguf_tensors(ck_);
    if (!plan) return plan.error();
    for (const PlannedTensor& p : plan.value()) {
      switch (p.op) {
        case TensorOp::kCopy:
        case TensorOp::kPermuteRope:  // used unpermuted: the model applies half-style rope
          names_[p.gguf_name] = p.inputs;
          break;
        case TensorOp::kStackExperts:
          names_[p.gguf_name] = p.inputs;
          break;
        case TensorOp::kSplitKB: {
          std::string kv_b = p.gguf_name;
          kv_b.replace(kv_b.find("attn_k_b"), 8, "attn_kv_b");
          names_[kv_b] = p.inputs;
          break;
        }
        case TensorOp::kSplitVB:    // served by attn_kv_b
        case TensorOp::kRopeFreqs:  // computed from config.json by the model
          break;
      }
    }
    return Status::Ok();
  }

  const ModelConfig& config() const override { return ck_.config(); }
  bool has(const std::string& name) const override { return names_.count(name) > 0; }
  bool rope_rows_interleaved() const override { return false; }
  bool is_gguf() const override { return false; }

  Result<MatrixView> matrix(const std::string& name,
                            const std::vector<int64_t>& gguf_shape) override {
    auto it = names_.find(name);
    if (it == names_.end() || it->second.size() != 1)
      return make_error("checkpoint has no tensor for '%s'", name.c_str());
    return hf_matrix(it->second[0], rows_of(gguf_shape), gguf_shape[0]);
  }

  Result<std::vector<MatrixView>> experts(const std::string& name, int64_t n_expert, int64_t rows,
                                          int64_t cols) override {
    auto it = names_.find(name);
    if (it == names_.end() || int64_t(it->second.size()) != n_expert)
      return make_error("checkpoint lacks the %lld experts of '%s'", (long long)n_expert,
                        name.c_str());
    std::vector<MatrixView> out;
    for (const std::string& hf : it->second) {
      auto m = hf_matrix(hf, rows, cols);
      if (!m) return m.error();
      out.push_back(m.value());
    }
    return out;
  }

  Result<const float*> vector(const std::string& name, int64_t n) override {
    auto it = names_.find(name);
    if (it == names_.end() || it->second.size() != 1)
      return make_error("checkpoint has no tensor for '%s'", name.c_str());
    const StTensor* t = ck_.find(it->second[0]);
    if (!t || t->n_elements() != uint64_t(n))
      return make_error("tensor '%s' does not hold %lld values", it->second[0].c_str(),
                        (long long)n);
    std::vector<float> v;
    Status st = ck_.read_f32(it->second[0], v);
    if (!st) return st.error();
    return vectors_.add(std::move(v));
  }

 private:
  Result<MatrixView> hf_matrix(const std::string& hf, int64_t rows, int64_t cols) {
    const StTensor* t = ck_.find(hf);
    if (!t) return make_error("checkpoint is missing tensor '%s'", hf.c_str());
    if (t->shape.size() != 2 || int64_t(t->shape[0]) != rows || int64_t(t->shape[1]) != cols)
      return make_error("tensor '%s' has shape %s, expected [%lld, %lld]", hf.c_str(),
                        shape_text_u(t->shape).c_str(), (long long)rows, (long long)cols);
    if (auto type = in_place_type(t->dtype)) {
      auto v = make_matrix_view(*type, t->data.data(), rows, cols);
      if (!v) return Error{"tensor '" + hf + "': " + v.error().message};
      return v;
    }
    // FP8 (with its block scales) or F64: the one copy, to exact f32.
    std::vector<float> f32;
    Status st = ck_.read_f32(hf, f32);
    if (!st) return st.error();
    const float* data = vectors_.add(std::move(f32));
    return make_matrix_view(TensorType::F32, data, rows, cols);
  }

  HfCheckpoint ck_;
  std::map<std::string, std::vector<std::string>> names_;
  VectorStore vectors_;
};

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Result<std::unique_ptr<WeightSource>> open_weight_source(const std::string& path) {
  if (is_directory(path)) {
    auto ck = HfCheckpoint::open(path, MappedFile::Use::kStreamedWeights);
    if (!ck) return ck.error();
    auto src = std::make_unique<HfWeightSource>(std::move(ck.value()));
    Status st = src->index();
    if (!st) return Error{path + ": " + st.error().message};
    return std::unique_ptr<WeightSource>(std::move(src));
  }
  auto file = GgufFile::open(path, MappedFile::Use::kStreamedWeights);
  if (!file) return file.error();
  // The embedding table is read a row per token, unless it doubles as the output head.
  const GgufTensorInfo* embd = file->find_tensor("token_embd.weight");
  if (embd && file->find_tensor("output.weight")) {
    const auto rows = file->view(*embd).data;
    advise_small_pages(rows.data(), rows.size());
  }
  auto config = config_from_gguf(file.value());
  if (!config) return Error{path + ": " + config.error().message};
  // The source needs the tensors only (the tokenizer and chat template are read apart).
  file->drop_metadata();
  return std::unique_ptr<WeightSource>(
      std::make_unique<GgufWeightSource>(std::move(file.value()), std::move(config.value())));
}

}  // namespace whale
