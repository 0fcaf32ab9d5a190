// The generation engine: the one way requests reach a loaded Pipeline when more than one may be in
// flight (batch, describe over many images, serve). Callers submit requests from any thread and get
// a future per request; the engine decides how they share the machine.
//
// Continuous batching (issue 14): up to `parallel` sequences run together on a worker thread; their
// decode tokens go through the model in one forward pass per step, a sequence joins as soon as a
// slot and KV memory are free and leaves at its stop. Each request still gets exactly the tokens it
// gets alone (Pipeline::run), whatever runs beside it (models/pipeline.h, Sequence). An encoder
// thread encodes the queued images while the others decode (encoder run-ahead, bounded queue).
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
  // Encoder run-ahead: an encoder thread prepares and encodes queued requests while the others
  // decode, and up to this many encoded requests wait for a slot (their image rows are ~1 MB each;
  // the pixels go once encoded). 0 = off: a request is encoded when it is admitted, stalling the
  // decode of the others meanwhile. -1 = automatic (default_encode_ahead; with encoder_threads > 0,
  // `parallel`).
  int encode_ahead = -1;
  // Threads of the run-ahead encoder (its OpenMP team: oneDNN and our kernels); 0 = automatic
  // (default_encoder_threads). The decode keeps the pipeline's threads. Results never depend on it
  // (the encoder gives the same bits at any thread count: tests/blocks/test_engine_runahead.cpp).
  int encoder_threads = 0;
  // The KV budget in bytes when > 0, in place of kv_budget_mb: finer than the CLI's whole MB, so that
  // a test can hold back a batch of short sequences on a tiny model (caches of a few tens of KB)
  // instead of generating hundreds of tokens per sequence to fill a megabyte.
  int64_t kv_budget_bytes = 0;
};

int default_parallel();          // what parallel = 0 picks: from the cores
int64_t default_kv_budget_mb();  // what kv_budget_mb = 0 picks: a quarter of the available memory
int default_encode_ahead(int parallel, int threads);  // what encode_ahead = -1 picks
int default_encoder_threads(int pipeline_threads);    // what encoder_threads = 0 picks

// What the engine did, for -v and the tests.
struct EngineStats {
  int64_t encoded_ahead = 0;  // requests encoded on the run-ahead encoder thread
  // Of those, encodes that overlapped the batch: begun while sequences were in it, or during which a
  // decode step ran (without run-ahead, each such encode would have stalled them).
  int64_t encoded_while_decoding = 0;
  int64_t decode_steps = 0;
  int max_ready = 0;  // the most encoded requests that waited for a slot at once (<= encode_ahead)
};

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
  virtual EngineStats stats() const = 0;
  // The options it runs with, every automatic choice resolved (encoder_threads is 0 without run-ahead).
  virtual const EngineOptions& options() const = 0;
};

}  // namespace fvlm
