// Continuous batching (models/engine.cpp, decoder/qwen2_batch.cpp) on the golden tiny model: every
// request gets the same token ids with --parallel 1, 4 and 7 (greedy and seeded sampling, mixed
// prompts and --max-tokens, so sequences join mid-way and finish at different steps), and the same
// as Pipeline::run alone; a KV budget smaller than the batch holds sequences back without failing
// them; a request that fails leaves the others' ids unchanged. Once more on a Q4_0 file whose
// matrices are interleaved for the int8 kernels (quant/packed.h), as `--weight-pages huge` loads it.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "core/error.h"
#include "core/image.h"
#include "models/convert.h"
#include "models/engine.h"
#include "tests/test_util.h"

using namespace fvlm;

namespace {

// Mixed requests: five images, questions of different lengths, a text-only one, limits from 2 to
// 17 tokens, every other one sampled (temperature 0.9, its own seed).
std::vector<Request> mixed_requests(int n) {
  const char* images[] = {"wide.png", "square.jpg", "tall.png", "gray.png", "rgba.png"};
  const char* questions[] = {"Describe the image.", "What is the total amount on the receipt?",
                             "Count the birds.", "Read every line of text in this picture, top to bottom."};
  std::vector<Request> out;
  for (int i = 0; i < n; ++i) {
    Request r;
    if (i % 6 != 5) r.image = load_image(test::golden(std::string("images/") + images[i % 5]));
    r.messages = {{ChatRole::kUser, questions[i % 4]}};
    r.gen.max_tokens = 2 + (i * 7) % 16;
    r.gen.ignore_eos = true;
    if (i % 2 == 1) {
      r.gen.temperature = 0.9f;
      r.gen.top_k = 50;
      r.gen.seed = 1000 + uint64_t(i);
    }
    out.push_back(std::move(r));
  }
  return out;
}

struct Run {
  std::vector<std::vector<int32_t>> ids;
  std::vector<int> order;  // request index of every on_text call, in call order
};

Run run_engine(Pipeline& p, const EngineOptions& o, std::vector<Request> requests) {
  Run run;
  std::mutex m;
  std::unique_ptr<Engine> engine = Engine::create(p, o);
  std::vector<std::future<GenerateResult>> futures;
  for (size_t i = 0; i < requests.size(); ++i) {
    requests[i].on_text = [&run, &m, i](const std::string&) {
      std::lock_guard lock(m);
      run.order.push_back(int(i));
      return true;
    };
    futures.push_back(engine->submit(std::move(requests[i])));
  }
  for (auto& f : futures) run.ids.push_back(f.get().token_ids);
  return run;
}

// The most requests that had produced a token and were not yet done, at any on_text call.
int max_concurrent(const Run& run, const std::vector<int>& counts) {
  std::map<int, int> seen;
  std::set<int> open;
  size_t most = 0;
  for (int i : run.order) {
    if (++seen[i] == 1) open.insert(i);
    most = std::max(most, open.size());
    if (seen[i] >= counts[size_t(i)] + 1) open.erase(i);  // + 1: the final flush call
  }
  return int(most);
}

std::unique_ptr<Pipeline> tiny() {
  PipelineOptions po;
  po.keep_encoder = true;
  return Pipeline::load(test::golden("tiny/model"), po);
}

}  // namespace

TEST_CASE("batching: --parallel 1, 4 and 7 give every request the ids it gets alone") {
  std::unique_ptr<Pipeline> p = tiny();
  const int n = 12;
  std::vector<std::vector<int32_t>> alone;
  for (const Request& r : mixed_requests(n)) alone.push_back(p->run(r).token_ids);
  // The test means something only if the requests differ.
  CHECK(std::set<std::vector<int32_t>>(alone.begin(), alone.end()).size() > size_t(n / 2));
  for (int parallel : {1, 4, 7}) {
    CAPTURE(parallel);
    const Run run = run_engine(*p, {.parallel = parallel}, mixed_requests(n));
    for (int i = 0; i < n; ++i) {
      CAPTURE(i);
      CHECK(run.ids[size_t(i)] == alone[size_t(i)]);
    }
    std::vector<int> counts;
    for (const auto& ids : alone) counts.push_back(int(ids.size()));
    // Sequences really ran together (and one at a time with --parallel 1).
    if (parallel == 1) CHECK(max_concurrent(run, counts) == 1);
    if (parallel > 1) CHECK(max_concurrent(run, counts) == parallel);
  }
}

TEST_CASE("batching: on packed Q4_0/Q8_0 weights --parallel 5 gives every request the ids it gets alone") {
  ConvertOptions o;
  o.src = test::golden("tiny/model");
  o.out_dir = test::temp_path("batching_q4_0");
  o.type = parse_convert_type("q4_0");  // Q4_0 with Q8_0 attention and ffn_down: both packed kinds
  convert_model(o);
  PipelineOptions po;
  po.keep_encoder = true;
  po.weight_pages = dec::WeightPages::kHuge;
  std::unique_ptr<Pipeline> p = Pipeline::load(o.out_dir, po);
  CHECK(p->weight_placement().packed > 0);
  const int n = 8;
  std::vector<std::vector<int32_t>> alone;
  for (const Request& r : mixed_requests(n)) alone.push_back(p->run(r).token_ids);
  const Run run = run_engine(*p, {.parallel = 5}, mixed_requests(n));
  for (int i = 0; i < n; ++i) {
    CAPTURE(i);
    CHECK(run.ids[size_t(i)] == alone[size_t(i)]);
  }
}

TEST_CASE("batching: a KV budget smaller than the batch holds sequences back, never fails them") {
  std::unique_ptr<Pipeline> p = tiny();
  // A budget in bytes (EngineOptions::kv_budget_bytes) that holds the two largest of four caches but
  // no three of them: at most two run at once although four slots are free. Taken from the
  // sequences' own kv_bytes, so it follows the model's config. (In whole MB the tiny model's caches,
  // 512 bytes a position, needed ~700 tokens per sequence: over a minute under ASan.)
  std::vector<Request> requests;
  std::vector<int64_t> kv_bytes;
  for (Request& r : mixed_requests(4)) {
    r.gen.max_tokens = 40;
    r.gen.temperature = 0;
    kv_bytes.push_back(p->prepare(r)->kv_bytes());
    requests.push_back(std::move(r));
  }
  std::sort(kv_bytes.begin(), kv_bytes.end());
  const int64_t budget = kv_bytes[2] + kv_bytes[3];
  REQUIRE(kv_bytes[0] + kv_bytes[1] + kv_bytes[2] > budget);  // no three fit
  std::vector<std::vector<int32_t>> alone;
  for (const Request& r : requests) alone.push_back(p->run(r).token_ids);
  const Run run = run_engine(*p, {.parallel = 4, .kv_budget_bytes = budget}, requests);
  CHECK(run.ids == alone);
  CHECK(max_concurrent(run, std::vector<int>(4, 40)) == 2);
}

TEST_CASE("batching: a failing request fails alone, the others keep their ids") {
  std::unique_ptr<Pipeline> p = tiny();
  std::vector<Request> requests = mixed_requests(6);
  std::vector<std::vector<int32_t>> alone;
  for (const Request& r : requests) alone.push_back(p->run(r).token_ids);
  requests[2].gen.max_tokens = 100000;  // beyond the context: Errc::kTooLarge before it starts
  requests[4].messages.clear();         // no user message: Errc::kBadArgs
  std::unique_ptr<Engine> engine = Engine::create(*p, {4, 0});
  std::vector<std::future<GenerateResult>> futures;
  for (Request& r : requests) futures.push_back(engine->submit(std::move(r)));
  for (size_t i = 0; i < futures.size(); ++i) {
    CAPTURE(i);
    if (i == 2 || i == 4) {
      try {
        futures[i].get();
        FAIL("the request should have failed");
      } catch (const Error& e) {
        CHECK(e.code() == (i == 2 ? Errc::kTooLarge : Errc::kBadArgs));
      }
    } else {
      CHECK(futures[i].get().token_ids == alone[i]);
    }
  }
  CHECK(engine->in_flight() == 0);
}
