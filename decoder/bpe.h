// Byte-pair-encoding merges over token ids (mirrors `Qwen2Tokenizer.bpe` / HF tokenizers
// `Word::merge_all`): starting from one symbol per byte, repeatedly merge the adjacent pair with
// the lowest merge rank, leftmost first, until no adjacent pair is in merges.txt.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fvlm {

// (left id, right id) -> (rank, id of the merged token). Open addressing, linear probing.
class MergeTable {
 public:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  explicit MergeTable(size_t expected = 0);
  void insert(int32_t left, int32_t right, Merge m);  // a later insert of the same pair wins
  const Merge* find(int32_t left, int32_t right) const {
    const uint64_t key = pack(left, right);
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return &vals_[i];
      if (keys_[i] == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are >= 0, so never a real key
  static uint64_t pack(int32_t l, int32_t r) { return uint64_t(uint32_t(l)) << 32 | uint32_t(r); }
  size_t slot(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  void grow();

  std::vector<uint64_t> keys_;
  std::vector<Merge> vals_;
  size_t mask_ = 0, size_ = 0;
  int shift_ = 64;
};

// The specification: rescan all pairs after every merge. O(n^2) lookups; used by tests.
void bpe_merge_ref(const MergeTable& merges, std::vector<int32_t>& symbols);

// Same result as bpe_merge_ref: a rank array for short words, a min-heap for long ones.
void bpe_merge(const MergeTable& merges, std::vector<int32_t>& symbols);

// Word -> ids cache shared by all threads using one Tokenizer: sharded, each shard behind a
// mutex; a full shard is cleared (like HF tokenizers' bounded cache).
class BpeCache {
 public:
  static constexpr size_t kMaxWordBytes = 128;  // longer words are not cached
  static constexpr size_t kShardCapacity = 8192;
  bool lookup(std::string_view word, std::vector<int32_t>& out) const;  // appends on a hit
  void insert(std::string_view word, std::span<const int32_t> ids) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> map;
  };
  static constexpr size_t kShards = 16;
  // A cheap shard choice (the map hashes the word itself; hashing twice showed in profiles).
  Shard& shard(std::string_view w) const {
    return shards_[(w.size() * 31 + uint8_t(w.front()) * 7 + uint8_t(w.back())) % kShards];
  }
  mutable std::unique_ptr<Shard[]> shards_ = std::make_unique<Shard[]>(kShards);
};

}  // namespace fvlm
