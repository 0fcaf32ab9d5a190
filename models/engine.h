// The generation engine: the one way requests reach a loaded Pipeline when more than one may be in
// flight (batch, describe over many images, serve). Callers submit requests from any thread and get
// a future per request; the engine decides how they share the machine.
//
// Continuous batching (issue 14): up to `parallel` sequences run together on a worker thread; their
// decode tokens go through the model in one forward pass per step, a sequence joins as soon as a
// slot and KV memory are free and leaves at its stop. Each request still gets exactly the tokens it
// gets alone (Pipeline::run), whatever runs beside it (models/pipeline.h, Sequence).
#pragma once
#include <cstdint>
#include <future>
#include <memory>

#include "models/pipeline.h"

namespace fvlm {

struct EngineOptions {
  int parallel = 1;          // sequences generated together (1 = one request at a time; 0 = automatic)
  int64_t kv_budget_mb = 0;  // KV cache memory for all sequences; 0 = chosen from free memory. A
                             // request that does not fit waits for others to finish, never fails.
};

int default_parallel();          // what parallel = 0 picks: from the cores
int64_t default_kv_budget_mb();  // what kv_budget_mb = 0 picks: a quarter of the available memory

class Engine {
 public:
  // `pipeline` must outlive the engine, and nothing else may use it while the engine lives.
  static std::unique_ptr<Engine> create(Pipeline& pipeline, const EngineOptions& o);
  // Finishes every request already submitted, then stops.
  virtual ~Engine() = default;

  // Queues a request. Thread-safe. The future holds the result, or the request's Error (a bad
  // image, a prompt too long, ...) as its exception: one request's failure never stops the others.
  virtual std::future<GenerateResult> submit(Request r) = 0;
  // Requests submitted and not finished (queued or running).
  virtual int in_flight() const = 0;
};

}  // namespace fvlm
