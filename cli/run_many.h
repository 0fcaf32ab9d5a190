// Many requests through one Engine (batch, describe/ocr over several images): a bounded window of
// submitted requests (images are decoded on this thread while the engine works on others), results
// handed back in input order, or as they finish with --unordered.
#pragma once
#include <cstddef>
#include <functional>
#include <future>

#include "models/engine.h"

namespace fvlm::cli {

struct ManyRequests {
  size_t count = 0;
  size_t window = 1;       // requests submitted and not yet handed back, at most
  bool unordered = false;  // hand back as they finish
  // Item i's request. An Error thrown here is item i's failure (handed back like a result).
  std::function<Request(size_t)> make;
  // Item i's outcome: get() gives the result or rethrows its Error.
  std::function<void(size_t, std::future<GenerateResult>&)> done;
  // Checked before each submission: true stops submitting (what is in flight still finishes).
  std::function<bool()> stop;
};

void run_many(Engine& engine, const ManyRequests& m);

// The window for `engine`: a full batch, the encoded requests that may wait for a slot
// (--encode-ahead), the one being encoded and one more decoded image ready for the encoder. A
// smaller window would cap the run-ahead below --encode-ahead; a larger one would only hold more
// decoded pixels (the engine drops them once an image is encoded).
size_t request_window(const Engine& engine);

}  // namespace fvlm::cli
