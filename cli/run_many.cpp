#include "cli/run_many.h"

#include <chrono>
#include <deque>
#include <exception>
#include <utility>

namespace fvlm::cli {

void run_many(Engine& engine, const ManyRequests& m) {
  struct Pending {
    size_t index;
    std::future<GenerateResult> result;
  };
  std::deque<Pending> pending;  // submission order
  size_t next = 0;
  const auto submit = [&] {
    const size_t i = next++;
    try {
      pending.push_back({i, engine.submit(m.make(i))});
    } catch (...) {  // this item's failure: a future that rethrows it
      std::promise<GenerateResult> failed;
      failed.set_exception(std::current_exception());
      pending.push_back({i, failed.get_future()});
    }
  };
  const auto ready = [](std::future<GenerateResult>& f, std::chrono::milliseconds wait) {
    return f.wait_for(wait) == std::future_status::ready;
  };
  while (true) {
    while (next < m.count && pending.size() < m.window && !(m.stop && m.stop())) submit();
    if (pending.empty()) return;
    if (!m.unordered) {
      pending.front().result.wait();
      Pending p = std::move(pending.front());
      pending.pop_front();
      m.done(p.index, p.result);
      continue;
    }
    // Unordered: the first one finished; poll briefly (the engine fulfils them from its thread).
    for (bool handed = false; !handed;) {
      for (auto it = pending.begin(); it != pending.end(); ++it)
        if (ready(it->result, std::chrono::milliseconds(0))) {
          Pending p = std::move(*it);
          pending.erase(it);
          m.done(p.index, p.result);
          handed = true;
          break;
        }
      if (!handed) ready(pending.front().result, std::chrono::milliseconds(5));
    }
  }
}

size_t request_window(const Engine& engine) {
  const EngineOptions& o = engine.options();
  return size_t(o.parallel) + size_t(o.encode_ahead) + 2;
}

}  // namespace fvlm::cli
