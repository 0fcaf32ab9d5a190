// The engine's settings and what it did, as JSON: batch's summary (`"engine"`) and serve's /health
// show it, so a user can see whether the encoder run-ahead overlapped the decode.
#pragma once
#include <nlohmann/json.hpp>

#include "models/engine.h"

namespace fvlm::cli {

// {"parallel", "kv_budget_mb", "encode_ahead", "encoder_threads" (the resolved options), then
// EngineStats: "decode_steps", "encoded_ahead", "encoded_while_decoding", "max_ready"}.
nlohmann::ordered_json engine_json(const Engine& e);

}  // namespace fvlm::cli
