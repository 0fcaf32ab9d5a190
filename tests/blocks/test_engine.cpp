// models/engine: requests submitted together (from several threads) get exactly the ids that
// Pipeline::run gives each alone; a failing request fails only its own future; on_text returning
// false cancels; a text-only request and a conversation run.
#include <doctest/doctest.h>

#include <fstream>
#include <thread>

#include "core/error.h"
#include "core/image.h"
#include "models/engine.h"
#include "tests/test_util.h"

using namespace fvlm;

namespace {

Request golden_request(const nlohmann::json& c) {
  Request r;
  r.image = load_image(test::golden("images/" + c["image"].get<std::string>()));
  r.messages = {{ChatRole::kUser, c["question"].get<std::string>()}};
  r.gen.max_tokens = 6;
  r.gen.ignore_eos = true;
  return r;
}

}  // namespace

TEST_CASE("engine: concurrent submissions give each request's own ids, errors stay with their request") {
  const nlohmann::json cases = test::golden_e2e_cases();
  REQUIRE(cases.size() >= 2);
  PipelineOptions po;
  po.keep_encoder = true;
  std::unique_ptr<Pipeline> p = Pipeline::load(test::golden("tiny/model"), po);
  std::vector<std::vector<int32_t>> alone;
  for (const auto& c : cases) alone.push_back(p->run(golden_request(c)).token_ids);

  std::unique_ptr<Engine> engine = Engine::create(*p, {});
  std::vector<std::future<GenerateResult>> results(cases.size());
  std::future<GenerateResult> bad;
  {
    std::vector<std::thread> clients;
    for (size_t i = 0; i < cases.size(); ++i)
      clients.emplace_back([&, i] { results[i] = engine->submit(golden_request(cases[i])); });
    Request empty;  // no user message
    bad = engine->submit(std::move(empty));
    for (auto& t : clients) t.join();
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(i);
    const GenerateResult r = results[i].get();
    CHECK(r.token_ids == alone[i]);
    CHECK(r.finish_reason == "length");
  }
  CHECK_THROWS_AS(bad.get(), Error);
  CHECK(engine->in_flight() == 0);
}

TEST_CASE("engine: on_text returning false cancels, text-only conversations run") {
  std::unique_ptr<Pipeline> p = Pipeline::load(test::golden("tiny/model"), {});
  std::unique_ptr<Engine> engine = Engine::create(*p, {});
  Request r = golden_request(test::golden_e2e_cases()[0]);
  r.gen.max_tokens = 12;
  int calls = 0;
  r.on_text = [&](const std::string&) { return ++calls < 3; };
  const GenerateResult cancelled = engine->submit(std::move(r)).get();
  CHECK(cancelled.finish_reason == "cancelled");
  CHECK(cancelled.token_ids.size() == 3);

  Request text;
  text.messages = {{ChatRole::kUser, "Hi"}, {ChatRole::kAssistant, "Hello."}, {ChatRole::kUser, "Bye"}};
  text.gen.max_tokens = 4;
  text.gen.ignore_eos = true;
  const GenerateResult t = engine->submit(std::move(text)).get();
  CHECK(t.n_image_tokens == 0);
  CHECK(t.token_ids.size() == 4);
  CHECK(t.n_prompt_tokens > 10);
}

TEST_CASE("engine: no OpenMP team stays on an idle thread (the loader's, or the worker's between requests)") {
  // An idle team slows every other team's fork/join (core/parallel.h, release_threads): the thread
  // that loaded the model must not keep one once the engine computes, nor the worker once idle.
  // On a thread of its own: the test runner's main thread may hold a team from earlier tests.
  std::thread([] {
    PipelineOptions po;
    po.threads = 2;  // a team of 2: one helper thread to count, whatever the machine
    std::unique_ptr<Pipeline> p = Pipeline::load(test::golden("tiny/model"), po);
    const nlohmann::json c = test::golden_e2e_cases()[0];
    const std::vector<int32_t> alone = p->run(golden_request(c)).token_ids;  // this thread's team exists
    Request r = golden_request(c);  // decoded before counting (image decoding may start threads)
    const int with_team = test::process_threads();
    EngineOptions o;
    o.parallel = 1;
    o.encode_ahead = 0;  // no encoder thread to count
    std::unique_ptr<Engine> engine = Engine::create(*p, o);
    // The loader's helper has gone, the worker has come (its team starts with its first request).
    CHECK(test::process_threads_settled(with_team) == with_team);
    CHECK(engine->submit(std::move(r)).get().token_ids == alone);
    // The worker's team (itself + 1 helper) ended when it went idle.
    CHECK(test::process_threads_settled(with_team) == with_team);
  }).join();
}
