// A Hugging Face model directory: config.json plus model.safetensors, or shards listed in
// model.safetensors.index.json ({"weight_map": {"tensor": "shard file"}}). Every shard is
// mapped once; tensors are zero-copy views into the mappings, which live as long as this object.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "formats/model_config.h"
#include "formats/safetensors.h"
#include "platform/result.h"

namespace whale {

class HfCheckpoint {
 public:
  // use: MappedFile::Use::kStreamedWeights when the shards are opened to run the model.
  static Result<HfCheckpoint> open(const std::string& dir,
                                   MappedFile::Use use = MappedFile::Use::kRandomAccess);

  const ModelConfig& config() const { return config_; }
  const std::string& dir() const { return dir_; }
  // Every tensor of every shard, ordered by name (deterministic whatever the sharding).
  const std::map<std::string, const StTensor*>& tensors() const { return by_name_; }
  const StTensor* find(const std::string& name) const;
  size_t shard_count() const { return shards_.size(); }

  // The tensor as f32 in its own (row-major) layout. FP8 weights with a companion
  // "<name>_scale_inv" tensor are dequantized block-wise (config weight_block_size, default
  // 128); `out` is resized to n_elements().
  Status read_f32(const std::string& name, std::vector<float>& out) const;

 private:
  ModelConfig config_;
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::map<std::string, const StTensor*> by_name_;
};

// True for a directory that looks like a Hugging Face checkpoint (has config.json).
bool is_hf_dir(const std::string& path);

}  // namespace whale
