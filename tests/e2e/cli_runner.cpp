#include "tests/e2e/cli_runner.h"

#include <sstream>

#include "tests/test_util.h"

namespace fvlm::test {

CliRun run_cli(const std::string& args, bool keep_stderr) { return run_cli_with_env("", args, keep_stderr); }

CliRun run_cli_with_env(const std::string& env, const std::string& args, bool keep_stderr) {
  CliRun r;
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + quoted_cli() + " " + args +
                          (keep_stderr ? "" : " 2>/dev/null");
  r.exit_code = run_command(cmd, r.stdout_text);
  std::istringstream in(r.stdout_text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    r.lines.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  return r;
}

// Built with append(): GCC 12 reports a false -Wrestrict for "literal" + std::string&& (bug 105329).
std::string quoted_cli() {
  std::string s = "'";
  s.append(cli_path()).append("'");
  return s;
}

std::string tiny_model() { return golden("tiny/model"); }
std::string golden_image(const std::string& name) { return golden("images/" + name); }

}  // namespace fvlm::test
