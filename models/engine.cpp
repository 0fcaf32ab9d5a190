#include "models/engine.h"

#include "core/error.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace fvlm {
namespace {

// Requests run one after another on one worker thread, in submission order.
class SerialEngine final : public Engine {
 public:
  explicit SerialEngine(Pipeline& p) : pipeline_(p), worker_([this] { work(); }) {}

  ~SerialEngine() override {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }

  std::future<GenerateResult> submit(Request r) override {
    Job job{std::move(r), {}};
    std::future<GenerateResult> f = job.result.get_future();
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(job));
      ++in_flight_;
    }
    wake_.notify_one();
    return f;
  }

  int in_flight() const override {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }

 private:
  struct Job {
    Request request;
    std::promise<GenerateResult> result;
  };

  void work() {
    while (true) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) return;  // closing, and everything submitted is done
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      // Counted out before the future is ready, so a caller woken by it sees in_flight() without it.
      std::optional<GenerateResult> result;
      std::exception_ptr error;
      try {
        result = pipeline_.run(job.request);
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard lock(mutex_);
        --in_flight_;
      }
      if (result)
        job.result.set_value(std::move(*result));
      else
        job.result.set_exception(error);
    }
  }

  Pipeline& pipeline_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  int in_flight_ = 0;
  bool closing_ = false;
  std::thread worker_;  // last: starts once the members above exist
};

}  // namespace

std::unique_ptr<Engine> Engine::create(Pipeline& pipeline, const EngineOptions& o) {
  if (o.parallel != 1)
    throw Error(Errc::kUnsupported, "--parallel above 1 is not implemented yet (continuous batching)");
  return std::make_unique<SerialEngine>(pipeline);
}

}  // namespace fvlm
