#include "decoder/bpe.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <queue>

#include "core/error.h"

namespace fvlm {

MergeTable::MergeTable(size_t expected) {
  size_t cap = 16;
  while (cap < expected * 2) cap *= 2;  // load factor <= 0.5
  keys_.assign(cap, kEmpty);
  vals_.assign(cap, Merge{0, 0});
  mask_ = cap - 1;
  shift_ = 64 - std::countr_zero(cap);
}

void MergeTable::grow() {
  MergeTable bigger(keys_.size());  // doubles the capacity
  for (size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] != kEmpty) bigger.insert(int32_t(keys_[i] >> 32), int32_t(uint32_t(keys_[i])), vals_[i]);
  *this = std::move(bigger);
}

void MergeTable::insert(int32_t left, int32_t right, Merge m) {
  FVLM_CHECK(left >= 0 && right >= 0, "token ids are non-negative");
  if ((size_ + 1) * 2 > keys_.size()) grow();
  const uint64_t key = pack(left, right);
  size_t i = slot(key);
  while (keys_[i] != kEmpty && keys_[i] != key) i = (i + 1) & mask_;
  if (keys_[i] == kEmpty) ++size_;
  keys_[i] = key;
  vals_[i] = m;
}

void bpe_merge_ref(const MergeTable& merges, std::vector<int32_t>& symbols) {
  for (;;) {
    const MergeTable::Merge* best = nullptr;
    size_t at = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {  // bigram = min(pairs, key=bpe_ranks.get)
      const MergeTable::Merge* m = merges.find(symbols[i], symbols[i + 1]);
      if (m && (!best || m->rank < best->rank)) best = m, at = i;
    }
    if (!best) return;
    symbols[at] = best->merged;
    symbols.erase(symbols.begin() + std::ptrdiff_t(at) + 1);
  }
}

namespace {

constexpr int32_t kNoMerge = INT32_MAX;
constexpr size_t kShortWord = 64;

// Short words: keep the rank of every adjacent pair in an array; after a merge only the two
// pairs touching the new symbol change. O(n) per merge, no allocation.
void merge_short(const MergeTable& merges, std::vector<int32_t>& sym) {
  size_t n = sym.size();
  int32_t rank[kShortWord], merged[kShortWord];
  auto set_pair = [&](size_t i) {
    const MergeTable::Merge* m = merges.find(sym[i], sym[i + 1]);
    rank[i] = m ? m->rank : kNoMerge;
    merged[i] = m ? m->merged : -1;
  };
  for (size_t i = 0; i + 1 < n; ++i) set_pair(i);
  while (n > 1) {
    size_t at = 0;
    for (size_t i = 1; i + 1 < n; ++i)
      if (rank[i] < rank[at]) at = i;  // strict: leftmost among equal ranks
    if (rank[at] == kNoMerge) break;
    sym[at] = merged[at];
    for (size_t i = at + 1; i + 1 < n; ++i) sym[i] = sym[i + 1];
    for (size_t i = at + 1; i + 2 < n; ++i) rank[i] = rank[i + 1], merged[i] = merged[i + 1];
    --n;
    if (at > 0) set_pair(at - 1);
    if (at + 1 < n) set_pair(at);
  }
  sym.resize(n);
}

// Long words: symbols form a linked list; a min-heap holds candidate pairs ordered by (rank,
// position of the left symbol). Stale entries are recognised by the ids having changed.
void merge_long(const MergeTable& merges, std::vector<int32_t>& sym) {
  const int n = int(sym.size());
  std::vector<int> prev(static_cast<size_t>(n)), next(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) prev[size_t(i)] = i - 1, next[size_t(i)] = i + 1 < n ? i + 1 : -1;
  struct Candidate {
    int32_t rank;
    int left;
    int32_t left_id, right_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto push = [&](int l) {
    const int r = next[size_t(l)];
    if (r < 0) return;
    if (const MergeTable::Merge* m = merges.find(sym[size_t(l)], sym[size_t(r)]))
      heap.push({m->rank, l, sym[size_t(l)], sym[size_t(r)]});
  };
  std::vector<bool> alive(static_cast<size_t>(n), true);
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int r = next[size_t(c.left)];
    if (!alive[size_t(c.left)] || r < 0 || sym[size_t(c.left)] != c.left_id || sym[size_t(r)] != c.right_id)
      continue;
    sym[size_t(c.left)] = merges.find(c.left_id, c.right_id)->merged;
    alive[size_t(r)] = false;
    next[size_t(c.left)] = next[size_t(r)];
    if (next[size_t(r)] >= 0) prev[size_t(next[size_t(r)])] = c.left;
    if (prev[size_t(c.left)] >= 0) push(prev[size_t(c.left)]);
    push(c.left);
  }
  size_t out = 0;
  for (int i = 0; i >= 0 && i < n; i = next[size_t(i)]) sym[out++] = sym[size_t(i)];
  sym.resize(out);
}

}  // namespace

void bpe_merge(const MergeTable& merges, std::vector<int32_t>& symbols) {
  if (symbols.size() <= kShortWord)
    merge_short(merges, symbols);
  else
    merge_long(merges, symbols);
}

bool BpeCache::lookup(std::string_view word, std::vector<int32_t>& out) const {
  Shard& s = shard(std::hash<std::string_view>{}(word));
  std::lock_guard lock(s.mu);
  auto it = s.map.find(word);
  if (it == s.map.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

void BpeCache::insert(std::string_view word, std::span<const int32_t> ids) const {
  if (word.size() > kMaxWordBytes) return;
  Shard& s = shard(std::hash<std::string_view>{}(word));
  std::lock_guard lock(s.mu);
  if (s.map.size() >= kShardCapacity) s.map.clear();
  s.map.try_emplace(std::string(word), ids.begin(), ids.end());
}

}  // namespace fvlm
