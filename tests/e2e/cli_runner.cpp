#include "tests/e2e/cli_runner.h"

#include <filesystem>
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
std::string q(const std::filesystem::path& p) {
  std::string s = "'";
  return s.append(p.string()).append("'");
}

std::string quoted_cli() {
  std::string s = "'";
  s.append(cli_path()).append("'");
  return s;
}

std::string tiny_model() { return golden("tiny/model"); }

std::string tiny_model_copy(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path src = tiny_model(), dst = temp_path("model_" + name);
  fs::remove_all(dst);
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(src)) {
    const fs::path to = dst / e.path().filename();
    if (e.path().extension() == ".json") {
      fs::copy_file(e.path(), to);
      fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write);
    } else {
      fs::create_symlink(e.path(), to);
    }
  }
  return dst.string();
}
std::string golden_image(const std::string& name) { return golden("images/" + name); }

}  // namespace fvlm::test
