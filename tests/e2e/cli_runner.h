// Runs the built fastvlm binary and parses its JSON Lines output.
#pragma once
#include <filesystem>
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

std::string quoted_cli();                       // the binary's path, shell-quoted
std::string q(const std::filesystem::path& p);  // `p` in single quotes for a shell (test paths hold no ')
std::string tiny_model();                       // the golden tiny checkpoint directory
// The tiny model in a fresh temp dir (temp_path("model_" + name)): large files symlinked, the small
// JSON files copied so that a test may edit or delete them.
std::string tiny_model_copy(const std::string& name);
std::string golden_image(const std::string& name);

}  // namespace fvlm::test
