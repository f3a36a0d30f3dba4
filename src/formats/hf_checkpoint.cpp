#include "formats/hf_checkpoint.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <set>

#include "platform/mapped_file.h"

namespace whale {

namespace {

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A shard named by the index must be a plain file name inside the model directory.
bool is_plain_file_name(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos;
}

Result<std::map<std::string, std::string>> read_weight_map(const std::string& path) {
  auto text = read_text_file(path, 64 << 20);
  if (!text.ok()) return text.error();
  std::map<std::string, std::string> map;
  try {
    auto j = nlohmann::json::parse(text.value());
    auto wm = j.find("weight_map");
    if (!j.is_object() || wm == j.end() || !wm->is_object())
      return make_error("%s: no \"weight_map\" object", path.c_str());
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it.value().is_string())
        return make_error("%s: weight_map entry '%s' is not a file name", path.c_str(),
                          it.key().c_str());
      std::string shard = it.value().get<std::string>();
      if (!is_plain_file_name(shard))
        return make_error("%s: shard '%s' is not a file name in the model directory", path.c_str(),
                          shard.c_str());
      map[it.key()] = shard;
    }
  } catch (const std::exception& e) {
    return make_error("%s: not valid JSON (%s)", path.c_str(), e.what());
  }
  if (map.empty()) return make_error("%s: weight_map is empty", path.c_str());
  return map;
}

}  // namespace

bool is_hf_dir(const std::string& path) {
  return file_exists(path + "/config.json");
}

Result<HfCheckpoint> HfCheckpoint::open(const std::string& dir, MappedFile::Use use) {
  HfCheckpoint ck;
  ck.dir_ = dir;
  if (!file_exists(dir + "/config.json"))
    return make_error("%s: no config.json (not a Hugging Face model directory)", dir.c_str());
  auto config = config_from_hf_file(dir + "/config.json");
  if (!config.ok()) return config.error();
  ck.config_ = config.value();

  const std::string single = dir + "/model.safetensors";
  const std::string index = dir + "/model.safetensors.index.json";
  std::map<std::string, std::string> weight_map;  // tensor -> shard (sharded only)
  std::vector<std::string> shard_names;
  if (file_exists(index)) {
    auto wm = read_weight_map(index);
    if (!wm.ok()) return wm.error();
    weight_map = std::move(wm.value());
    std::set<std::string> unique;
    for (const auto& [tensor, shard] : weight_map)
      if (unique.insert(shard).second) shard_names.push_back(shard);
  } else if (file_exists(single)) {
    shard_names.push_back("model.safetensors");
  } else {
    return make_error("%s: no model.safetensors or model.safetensors.index.json", dir.c_str());
  }

  std::map<std::string, const SafetensorsFile*> shard_by_name;
  for (const auto& name : shard_names) {
    auto f = SafetensorsFile::open(dir + "/" + name, use);
    if (!f.ok()) return f.error();
    ck.shards_.push_back(std::make_unique<SafetensorsFile>(std::move(f.value())));
    const SafetensorsFile* shard = ck.shards_.back().get();
    shard_by_name[name] = shard;
    for (const auto& t : shard->tensors()) {
      auto [it, inserted] = ck.by_name_.emplace(t.name, &t);
      if (!inserted)
        return make_error("%s: tensor '%s' is stored in more than one shard", dir.c_str(),
                          t.name.c_str());
    }
  }
  for (const auto& [tensor, shard] : weight_map) {
    const StTensor* t = shard_by_name[shard]->find(tensor);
    if (!t)
      return make_error("%s: tensor '%s' is listed in the index but missing from %s", dir.c_str(),
                        tensor.c_str(), shard.c_str());
  }
  return ck;
}

const StTensor* HfCheckpoint::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

Status HfCheckpoint::read_f32(const std::string& name, std::vector<float>& out) const {
  const StTensor* t = find(name);
  if (!t) return make_error("tensor '%s' is missing from the checkpoint", name.c_str());
  out.resize(size_t(t->n_elements()));
  const StTensor* scale = find(name + "_scale_inv");
  if (scale && (t->dtype == StDtype::F8_E4M3 || t->dtype == StDtype::F8_E5M2)) {
    uint64_t block = config_.weight_block_size > 0 ? uint64_t(config_.weight_block_size) : 128;
    return dequantize_fp8_blocks(*t, *scale, block, out.data());
  }
  if (t->dtype == StDtype::F8_E4M3 || t->dtype == StDtype::F8_E5M2)
    return make_error("tensor '%s' is FP8 but has no %s_scale_inv", name.c_str(), name.c_str());
  return st_to_f32(*t, out.data());
}

}  // namespace whale
