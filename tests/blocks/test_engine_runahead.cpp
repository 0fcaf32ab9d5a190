// Encoder run-ahead in the batching engine (models/engine.cpp, EngineOptions::encode_ahead): the
// encoder's output does not depend on its thread count (so the run-ahead encoder may use fewer
// threads than the decode without changing an answer); requests encoded on the encoder thread
// while others decode get the ids they get alone; the queue of encoded requests never exceeds its
// bound; an engine destroyed with requests still queued finishes them all.
#include <doctest/doctest.h>

#include <cstring>

#include "core/image.h"
#include "models/engine.h"
#include "tests/test_util.h"

using namespace fvlm;

namespace {

std::unique_ptr<Pipeline> tiny(int threads) {
  PipelineOptions po;
  po.keep_encoder = true;
  po.threads = threads;
  return Pipeline::load(test::golden("tiny/model"), po);
}

// Image requests; the first decodes long, so that the encoder thread has the others to encode
// while it decodes.
std::vector<Request> requests(int n) {
  const char* images[] = {"wide.png", "square.jpg", "tall.png", "gray.png", "rgba.png"};
  std::vector<Request> out;
  for (int i = 0; i < n; ++i) {
    Request r;
    r.image = load_image(test::golden(std::string("images/") + images[i % 5]));
    r.messages = {{ChatRole::kUser, i % 2 ? "Describe the image." : "What is written here?"}};
    r.gen.max_tokens = i == 0 ? 400 : 3 + i % 5;
    r.gen.ignore_eos = true;
    r.want_logits = true;
    out.push_back(std::move(r));
  }
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("run-ahead: the encoder gives the same bits with 1 and 2 threads") {
  // Fresh pipelines: oneDNN fixes a primitive's thread count when the plan is made, so each
  // pipeline's plans are made at its own count. The prompt's last logits depend on every image row.
  std::unique_ptr<Pipeline> one = tiny(1), two = tiny(2);
  for (Request& r : requests(3)) {
    r.gen.max_tokens = 2;
    const GenerateResult a = one->run(r), b = two->run(r);
    REQUIRE(!a.last_prompt_logits.empty());
    CHECK(same_bits(a.last_prompt_logits, b.last_prompt_logits));
    CHECK(a.token_ids == b.token_ids);
  }
}

TEST_CASE("run-ahead: images encoded while others decode get their own ids and the queue bound holds") {
  const int n = 9;
  for (const int ahead : {1, 3}) {
    CAPTURE(ahead);
    // The encoder thread makes this pipeline's plans, at its own thread count (1).
    std::unique_ptr<Pipeline> p = tiny(2);
    EngineOptions o;
    o.parallel = 4;
    o.encode_ahead = ahead;
    o.encoder_threads = 1;
    std::vector<GenerateResult> got;
    EngineStats stats;
    {
      std::unique_ptr<Engine> engine = Engine::create(*p, o);
      std::vector<std::future<GenerateResult>> futures;
      for (Request& r : requests(n)) futures.push_back(engine->submit(std::move(r)));
      for (auto& f : futures) got.push_back(f.get());
      stats = engine->stats();
    }
    std::unique_ptr<Pipeline> alone_pipeline = tiny(2);
    const std::vector<Request> rs = requests(n);
    for (int i = 0; i < n; ++i) {
      CAPTURE(i);
      const GenerateResult alone = alone_pipeline->run(rs[size_t(i)]);
      CHECK(got[size_t(i)].token_ids == alone.token_ids);
      CHECK(same_bits(got[size_t(i)].last_prompt_logits, alone.last_prompt_logits));
    }
    CHECK(stats.encoded_ahead == n);
    // Request 0 decodes 400 tokens from its admission on: the encodes of those admitted after the first
    // four begin while it is in the batch.
    CHECK(stats.encoded_while_decoding > 0);
    CHECK(stats.decode_steps >= 399);  // its first token comes from the prefill
    CHECK(stats.max_ready >= 1);
    CHECK(stats.max_ready <= ahead);
  }
}

TEST_CASE("run-ahead: an engine destroyed with requests queued finishes every one of them") {
  std::unique_ptr<Pipeline> p = tiny(0);
  std::vector<std::future<GenerateResult>> futures;
  {
    EngineOptions o;
    o.parallel = 2;
    o.encode_ahead = 2;
    std::unique_ptr<Engine> engine = Engine::create(*p, o);
    for (Request& r : requests(6)) {
      r.gen.max_tokens = 4;
      futures.push_back(engine->submit(std::move(r)));
    }
    Request bad;  // no user message: fails on the encoder thread, alone
    bad.image = load_image(test::golden("images/gray.png"));
    futures.push_back(engine->submit(std::move(bad)));
  }  // the destructor returns only when all are done
  for (size_t i = 0; i + 1 < futures.size(); ++i) {
    CAPTURE(i);
    REQUIRE(futures[i].wait_for(std::chrono::seconds(0)) == std::future_status::ready);
    CHECK(futures[i].get().token_ids.size() == 4);
  }
  CHECK_THROWS(futures.back().get());
}
