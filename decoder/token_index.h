// String -> token id lookup over a token table owned elsewhere (open addressing, linear probing).
// Slots hold (hash tag, id) pairs in one flat array, so a lookup touches one slot line and the
// candidate string; faster to build and query than std::unordered_map (bench/README.md).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace fvlm {

class TokenIndex {
 public:
  // `strings` must outlive the index and not move; empty strings are never indexed.
  void build(const std::vector<std::string>* strings, size_t expected) {
    strings_ = strings;
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    slots_.assign(cap, Slot{0, -1});
    mask_ = cap - 1;
  }
  // Maps strings[id] -> id; a later insert of an equal string wins.
  void insert(int32_t id) {
    const std::string_view s = (*strings_)[size_t(id)];
    const uint64_t h = hash(s);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.id < 0 || (slot.tag == uint32_t(h >> 32) && (*strings_)[size_t(slot.id)] == s)) {
        slot = {uint32_t(h >> 32), id};
        return;
      }
    }
  }
  int32_t find(std::string_view s) const { return find(s, hash(s)); }  // -1 if absent
  int32_t find(std::string_view s, uint64_t h) const {
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.id < 0) return -1;
      if (slot.tag == uint32_t(h >> 32) && (*strings_)[size_t(slot.id)] == s) return slot.id;
    }
  }
  // For batched lookups: hash first, prefetch the slot, find(s, h) a little later.
  static uint64_t hash(std::string_view s) { return std::hash<std::string_view>{}(s)*0x9E3779B97F4A7C15ull; }
  void prefetch(uint64_t h) const { __builtin_prefetch(&slots_[h & mask_]); }

 private:
  struct Slot {
    uint32_t tag;
    int32_t id;
  };
  const std::vector<std::string>* strings_ = nullptr;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace fvlm
