// Runs the built fastvlm binary and parses its JSON Lines output.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fvlm::test {

struct CliRun {
  int exit_code = -1;
  std::vector<nlohmann::json> lines;  // stdout, one JSON object per line
  std::string stdout_text;
};

// `args` is appended to the binary path as is (shell syntax). stderr goes to /dev/null unless
// keep_stderr. Every stdout line must be JSON (CHECKed by the caller via lines.size()).
CliRun run_cli(const std::string& args, bool keep_stderr = false);
// The same with environment assignments for the binary only, e.g. "FVLM_MAX_ISA=scalar".
CliRun run_cli_with_env(const std::string& env, const std::string& args, bool keep_stderr = false);

std::string quoted_cli();  // the binary's path, shell-quoted
std::string tiny_model();  // the golden tiny checkpoint directory
std::string golden_image(const std::string& name);

}  // namespace fvlm::test
