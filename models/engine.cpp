#include "models/engine.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/memory_info.h"
#include "core/parallel.h"

namespace fvlm {
namespace {

// Continuous batching on one worker thread. Each turn of its loop:
//   1. admits requests while a slot is free and their KV cache fits the budget (start: allocate);
//      the first request that does not fit waits at the head of the queue (FIFO: a large request
//      is never overtaken for ever) until memory frees up, and a request larger than the whole
//      budget runs when it is alone;
//   2. feeds one prefill chunk of one joining sequence (bounded: decode of the others goes on);
//   3. advances every decoding sequence by one token in one forward pass (Pipeline::decode_step);
//   4. hands finished results to their futures.
// With run-ahead (encode_ahead > 0) an encoder thread takes the submitted requests in order,
// prepares and encodes them (Sequence::encode) while the worker decodes, and queues them for
// admission, at most `encode_ahead` at once: admission then only allocates KV and prefills. Without
// it the worker prepares and encodes each request as it admits it, and every decoding sequence
// waits for that encode.
// A request's failure (prepare, encode, prefill) fails its future only.
class BatchingEngine final : public Engine {
 public:
  // `o` resolved: no automatic values left.
  BatchingEngine(Pipeline& p, const EngineOptions& o)
      : pipeline_(p),
        options_(o),
        parallel_(o.parallel),
        budget_(o.kv_budget_bytes),
        ahead_(o.encode_ahead),
        encoder_threads_(o.encoder_threads),
        worker_([this] { work(); }) {
    release_threads();  // the loading thread's team, idle from now on (core/parallel.h)
    if (ahead_ > 0) encoder_ = std::thread([this] { run_encoder(); });
  }

  ~BatchingEngine() override {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    encoder_wake_.notify_all();
    worker_wake_.notify_all();
    if (encoder_.joinable()) encoder_.join();
    worker_.join();
    const EngineStats s = stats();
    spdlog::debug(
        "engine: {} decode steps; {} images encoded ahead ({} while sequences decoded), at most {} "
        "waiting",
        s.decode_steps, s.encoded_ahead, s.encoded_while_decoding, s.max_ready);
  }

  std::future<GenerateResult> submit(Request r) override {
    auto job = std::make_unique<Job>();
    job->request = std::move(r);
    std::future<GenerateResult> f = job->result.get_future();
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(job));
      ++in_flight_;
    }
    (ahead_ > 0 ? encoder_wake_ : worker_wake_).notify_one();
    return f;
  }

  int in_flight() const override {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }

  EngineStats stats() const override {
    std::lock_guard lock(mutex_);
    EngineStats s = stats_;
    s.decode_steps = steps_.load();
    return s;
  }

  const EngineOptions& options() const override { return options_; }

 private:
  struct Job {
    Request request;  // the sequence refers to it: a Job never moves (unique_ptr)
    std::promise<GenerateResult> result;
    std::unique_ptr<Sequence> seq;
    std::exception_ptr error;  // failed while active
  };

  // Requests the worker may admit: encoded ones with run-ahead, submitted ones without.
  std::deque<std::unique_ptr<Job>>& admissible() { return ahead_ > 0 ? ready_ : queue_; }

  void work() {
    set_num_threads(pipeline_.threads());  // OpenMP's thread count is per thread
    while (true) {
      admit();
      if (active_.empty() && !next_) {
        release_threads();  // idle: the run-ahead encoder may be computing
        std::unique_lock lock(mutex_);
        worker_wake_.wait(lock, [&] { return !admissible().empty() || (closing_ && all_handed_over()); });
        if (admissible().empty()) return;  // closing, and everything submitted is done
        continue;
      }
      step();
    }
  }

  // Under the lock: encoded requests not yet admitted (the bound is on these).
  int encoded_waiting() const { return int(ready_.size()) + (holding_encoded_ ? 1 : 0); }

  // Under the lock: nothing is left for the worker to admit, now or later.
  bool all_handed_over() const { return queue_.empty() && ready_.empty() && !encoding_; }

  // The encoder thread: prepares and encodes submitted requests in order, while at most `ahead_`
  // encoded ones wait for admission.
  void run_encoder() {
    set_num_threads(encoder_threads_);
    while (true) {
      std::unique_ptr<Job> job;
      release_threads();  // between encodes: the worker computes on (core/parallel.h)
      {
        std::unique_lock lock(mutex_);
        encoder_wake_.wait(lock, [&] {
          return (closing_ && queue_.empty()) || (!queue_.empty() && encoded_waiting() < ahead_);
        });
        if (queue_.empty()) return;  // closing, and everything submitted is encoded
        job = std::move(queue_.front());
        queue_.pop_front();
        encoding_ = true;
      }
      const int64_t steps_before = steps_.load();
      const bool batch_busy = batch_size_.load() > 0;
      std::exception_ptr error;
      try {
        job->seq = pipeline_.prepare(job->request);
        job->seq->encode();
        job->request.image.reset();  // encoded: the decoded pixels (tens of MB for a photo) can go
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard lock(mutex_);
        encoding_ = false;
        if (!error) {
          ++stats_.encoded_ahead;
          if (batch_busy || steps_.load() != steps_before) ++stats_.encoded_while_decoding;
          ready_.push_back(std::move(job));
          stats_.max_ready = std::max(stats_.max_ready, encoded_waiting());
        }
      }
      if (error) fail(std::move(job), error);  // after encoding_ is cleared: see all_handed_over
      worker_wake_.notify_one();
    }
  }

  // Moves requests into the batch while there is a slot and KV memory for them.
  void admit() {
    while (int(active_.size()) < parallel_) {
      if (!next_) {
        {
          std::lock_guard lock(mutex_);
          if (admissible().empty()) return;
          next_ = std::move(admissible().front());
          admissible().pop_front();
          holding_encoded_ = ahead_ > 0;
        }
        if (ahead_ == 0) {
          try {
            next_->seq = pipeline_.prepare(next_->request);
          } catch (...) {
            fail(std::move(next_), std::current_exception());
            continue;
          }
        }
      }
      const int64_t bytes = next_->seq->kv_bytes();
      if (!active_.empty() && kv_used_ + bytes > budget_) return;  // waits for a sequence to finish
      std::unique_ptr<Job> job = std::move(next_);
      if (ahead_ > 0) {
        {
          std::lock_guard lock(mutex_);
          holding_encoded_ = false;
        }
        encoder_wake_.notify_one();  // room in the queue
      }
      try {
        job->seq->start();  // encodes first, without run-ahead
      } catch (...) {
        fail(std::move(job), std::current_exception());
        continue;
      }
      job->request.image.reset();  // encoded: the decoded pixels (tens of MB for a photo) can go
      kv_used_ += bytes;
      active_.push_back(std::move(job));
      batch_size_ = int(active_.size());
    }
  }

  void step() {
    for (auto& job : active_)  // one chunk of one joining sequence per step
      if (job->seq->prefilling()) {
        try {
          job->seq->prefill_chunk();
        } catch (...) {
          job->error = std::current_exception();
        }
        break;
      }
    std::vector<Sequence*> decoding;
    for (auto& job : active_)
      if (!job->error && !job->seq->prefilling() && !job->seq->finished()) decoding.push_back(job->seq.get());
    if (!decoding.empty()) {
      try {
        pipeline_.decode_step(decoding);
      } catch (...) {  // a step is shared: what broke it (a callback, memory) fails its sequences
        for (auto& job : active_)
          if (std::find(decoding.begin(), decoding.end(), job->seq.get()) != decoding.end())
            job->error = std::current_exception();
      }
      ++steps_;
    }
    std::vector<std::unique_ptr<Job>> still;
    for (auto& job : active_) {
      if (!job->error && !job->seq->finished()) {
        still.push_back(std::move(job));
        continue;
      }
      kv_used_ -= job->seq->kv_bytes();
      if (job->error) {
        const std::exception_ptr e = job->error;
        fail(std::move(job), e);
      } else {
        GenerateResult r = job->seq->take_result();
        job->seq.reset();
        done();  // before the future is ready: a caller that saw its result sees it counted out
        job->result.set_value(std::move(r));
      }
    }
    active_ = std::move(still);
    batch_size_ = int(active_.size());
  }

  void fail(std::unique_ptr<Job> job, std::exception_ptr e) {
    job->seq.reset();
    done();
    job->result.set_exception(e);
  }

  void done() {
    std::lock_guard lock(mutex_);
    --in_flight_;
  }

  Pipeline& pipeline_;
  const EngineOptions options_;
  const int parallel_;
  const int64_t budget_;
  const int ahead_;  // 0: no encoder thread
  const int encoder_threads_;
  mutable std::mutex mutex_;
  std::condition_variable worker_wake_;     // something to admit, or closing
  std::condition_variable encoder_wake_;    // something to encode and room for it, or closing
  std::deque<std::unique_ptr<Job>> queue_;  // submitted, not yet prepared
  std::deque<std::unique_ptr<Job>> ready_;  // prepared and encoded (run-ahead), in submission order
  bool encoding_ = false;                   // the encoder thread holds a job
  bool holding_encoded_ = false;            // the worker's next_ is an encoded request (run-ahead)
  int in_flight_ = 0;
  bool closing_ = false;
  EngineStats stats_;
  std::atomic<int64_t> steps_{0};   // decode steps so far (the encoder thread reads it)
  std::atomic<int> batch_size_{0};  // sequences in the batch (active_), for the encoder thread's stats
  // The worker's own state (no lock).
  std::vector<std::unique_ptr<Job>> active_;  // started: prefilling or decoding
  std::unique_ptr<Job> next_;                 // prepared, waiting for a slot or KV memory
  int64_t kv_used_ = 0;
  std::thread worker_;   // after the members above: starts once they exist
  std::thread encoder_;  // started by the constructor's body (run-ahead only)
};

}  // namespace

int default_parallel() {
  // Decode is memory-bound: more sequences per weight read pay until the cores are busy with the
  // arithmetic; 4 per core is about where an int8 matmul of M rows stops being bandwidth-bound,
  // and 8 keeps the batch's KV caches and latency modest on a laptop.
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  return std::clamp(2 * cores, 1, 8);
}

int64_t default_kv_budget_mb() {
  const int64_t avail = available_memory_mb();
  return avail > 0 ? std::max<int64_t>(64, avail / 4) : 1024;  // a quarter of what is free
}

int default_encode_ahead(int parallel, int threads) {
  // The encoder thread shares the decode's cores: it pays only while a decode step leaves their
  // arithmetic idle, i.e. with fewer sequences than threads. Since idle OpenMP teams are ended
  // (release_threads) a step of 2 sequences keeps 2 cores busy: 2 cores, 16 x 1024 px, 128 tokens
  // (bench/README.md, "OpenMP teams"), run-ahead on/off 0.222/0.217 img/s at --parallel 1 (+2 to
  // +8% over three runs), 0.309/0.297 at 2 (noise: equal in a second run), the mean TTFT 3.9 s
  // instead of 2.0. (Before, 0.309/0.258 at 2: the run-ahead then mostly hid the futex wake-ups.)
  // `parallel` encoded requests (~1 MB of image rows each at 1024 px) refill a whole batch whose
  // sequences finish together (one --max-tokens) without waiting for an encode.
  return parallel < std::max(1, threads) ? std::max(1, parallel) : 0;
}

int default_encoder_threads(int pipeline_threads) {
  // All the pipeline's threads, beside the decode's: on 2 cores (bench/README.md, "Encoder
  // run-ahead") one encoder thread makes the encoder the bottleneck (16 x 1024 px at ~3 s each is
  // more than the whole batch takes otherwise) and measured slower than no run-ahead at
  // --parallel 8, while two (4 OpenMP threads on 2 cores) measured fastest: the OS interleaves a
  // memory-bound decode step with the compute-bound encoder. No spinning wrecks that: libgomp
  // spins only ~100 iterations before sleeping once it manages more threads than there are CPUs
  // (GOMP_SPINCOUNT's throttled count), and oneDNN runs on OpenMP (no pool of its own). The count
  // never changes an answer: the encoder gives the same bits at any thread count.
  return std::max(1, pipeline_threads);
}

std::unique_ptr<Engine> Engine::create(Pipeline& pipeline, const EngineOptions& o) {
  if (o.parallel < 0) throw Error(Errc::kBadArgs, "--parallel must be 0 (automatic) or more");
  if (o.kv_budget_mb < 0) throw Error(Errc::kBadArgs, "--kv-budget must be 0 (automatic) or more MB");
  if (o.kv_budget_bytes < 0)
    throw Error(Errc::kBadArgs, "kv_budget_bytes must be 0 (use kv_budget_mb) or more");
  if (o.encode_ahead < -1)
    throw Error(Errc::kBadArgs, "--encode-ahead must be 0 (off) or more (-1: automatic)");
  if (o.encoder_threads < 0) throw Error(Errc::kBadArgs, "--encoder-threads must be 0 (automatic) or more");
  EngineOptions r;
  r.parallel = o.parallel > 0 ? o.parallel : default_parallel();
  const int64_t mb = int64_t(1) << 20;
  r.kv_budget_bytes = o.kv_budget_bytes > 0
                          ? o.kv_budget_bytes
                          : (o.kv_budget_mb > 0 ? o.kv_budget_mb : default_kv_budget_mb()) * mb;
  r.kv_budget_mb = (r.kv_budget_bytes + mb - 1) / mb;  // what reports show
  // An explicit --encoder-threads asks for the run-ahead encoder: it turns the automatic depth on.
  r.encode_ahead = o.encode_ahead >= 0     ? o.encode_ahead
                   : o.encoder_threads > 0 ? std::max(1, r.parallel)
                                           : default_encode_ahead(r.parallel, pipeline.threads());
  r.encoder_threads = r.encode_ahead == 0     ? 0  // no encoder thread
                      : o.encoder_threads > 0 ? o.encoder_threads
                                              : default_encoder_threads(pipeline.threads());
  spdlog::debug("engine: {} sequences at once, KV budget {:.1f} MB, encoder run-ahead {} ({} threads)",
                r.parallel, double(r.kv_budget_bytes) / double(1 << 20), r.encode_ahead, r.encoder_threads);
  return std::make_unique<BatchingEngine>(pipeline, r);
}

}  // namespace fvlm
