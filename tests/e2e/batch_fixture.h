// Helpers for the batch tests (e2e and hostile): folders of images made from the golden images,
// running the CLI with an environment and stderr kept, reading JSON Lines files back.
#pragma once
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/cli_runner.h"
#include "tests/test_util.h"

namespace fvlm::test {

// A fresh folder under the temp directory holding `n` images (the golden images, copied round-robin
// under distinct names img00.png, img01.jpg, ...).
inline std::filesystem::path make_image_folder(const std::string& name, int n) {
  namespace fs = std::filesystem;
  const fs::path dir = temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const char* sources[] = {"wide.png", "square.jpg", "tall.png", "gray.png", "rgba.png"};
  for (int i = 0; i < n; ++i) {
    const fs::path src = golden_image(sources[i % 5]);
    char stem[32];
    std::snprintf(stem, sizeof stem, "img%02d", i);
    fs::copy_file(src, dir / (stem + src.extension().string()));
  }
  return dir;
}

// image -> token ids of every ok line, the images of all lines in output order, and how many failed.
struct Answers {
  std::map<std::string, std::vector<int>> ids;
  std::vector<std::string> order;
  int failed = 0;
};

inline Answers answers_of(const CliRun& r) {
  Answers a;
  for (const auto& j : r.lines) {
    REQUIRE(j.is_object());
    a.order.push_back(j["image"].get<std::string>());
    if (j["ok"].get<bool>())
      a.ids[j["image"].get<std::string>()] = j["token_ids"].get<std::vector<int>>();
    else
      ++a.failed;
  }
  return a;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Every line of a JSON Lines file, parsed; a line that does not parse is a discarded value (the
// caller CHECKs is_object()). `whole` tells whether the file ends with a newline (or is empty).
struct JsonLines {
  std::vector<nlohmann::json> lines;
  bool whole = true;
};
inline JsonLines read_jsonl(const std::filesystem::path& p) {
  JsonLines r;
  const std::string text = read_text(p);
  r.whole = text.empty() || text.back() == '\n';
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    r.lines.push_back(nlohmann::json::parse(line, nullptr, false));
  return r;
}

inline std::multiset<std::string> images_of(const std::vector<nlohmann::json>& lines) {
  std::multiset<std::string> out;
  for (const auto& j : lines)
    if (j.is_object() && j.contains("image")) out.insert(j["image"].get<std::string>());
  return out;
}

struct CliRunFull {
  CliRun run;
  std::string err;  // stderr
};
// Runs `env_prefix fastvlm args` in the shell (env_prefix: "VAR=1 VAR2=x" or "cd DIR &&"), stderr kept.
inline CliRunFull run_cli_env(const std::string& env_prefix, const std::string& args) {
  static int counter = 0;
  const std::string err_file = temp_path("stderr_" + std::to_string(counter++));
  CliRunFull r;
  const std::string cmd = env_prefix + " " + quoted_cli() + " " + args + " 2>'" + err_file + "'";
  r.run.exit_code = run_command(cmd, r.run.stdout_text);
  std::istringstream in(r.run.stdout_text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) r.run.lines.push_back(nlohmann::json::parse(line, nullptr, false));
  r.err = read_text(err_file);
  std::filesystem::remove(err_file);
  return r;
}

inline std::string model_arg(int max_tokens = 2) {
  std::string s = "-m '";
  return s.append(tiny_model()).append("' --max-tokens ").append(std::to_string(max_tokens));
}

}  // namespace fvlm::test
