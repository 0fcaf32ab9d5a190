#include "cli/engine_report.h"

namespace fvlm::cli {

nlohmann::ordered_json engine_json(const Engine& e) {
  const EngineOptions& o = e.options();
  const EngineStats s = e.stats();
  return {{"parallel", o.parallel},
          {"kv_budget_mb", o.kv_budget_mb},
          {"encode_ahead", o.encode_ahead},
          {"encoder_threads", o.encoder_threads},
          {"decode_steps", s.decode_steps},
          {"encoded_ahead", s.encoded_ahead},
          {"encoded_while_decoding", s.encoded_while_decoding},
          {"max_ready", s.max_ready}};
}

}  // namespace fvlm::cli
