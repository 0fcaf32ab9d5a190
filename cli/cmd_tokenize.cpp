// `tokenize TEXT` and `detokenize IDS`: the model's tokenizer, ids as JSON.
#include <iostream>
#include <iterator>
#include <regex>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/output.h"
#include "core/error.h"
#include "models/model_tokenizer.h"

namespace fvlm::cli {
namespace {

struct TokenizeCommand {
  ModelOptions model;
  std::string text;
  bool show_tokens = false;
  bool skip_special = false;
};

std::string text_arg(const std::string& s) {
  if (s != "-") return s;
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

// "[1, 2, 3]", "1,2,3" or "1 2 3".
std::vector<int32_t> parse_ids(const std::string& s) {
  static const std::regex ok_re(R"(^[\s\[\]]*(-?\d+[\s,]*)*[\s\]]*$)");
  if (!std::regex_match(s, ok_re))
    throw Error(Errc::kBadArgs, "IDS must be integers separated by commas or spaces, e.g. [151644, 872]");
  std::vector<int32_t> ids;
  static const std::regex num_re(R"(-?\d+)");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), num_re); it != std::sregex_iterator(); ++it) {
    const long long v = std::stoll(it->str());
    if (v < 0 || v > INT32_MAX) throw Error(Errc::kBadArgs, fmt::format("token id {} out of range", v));
    ids.push_back(int32_t(v));
  }
  return ids;
}

}  // namespace

void add_tokenizer_commands(CLI::App& app, int& exit_code) {
  auto t = std::make_shared<TokenizeCommand>();
  auto* tok = app.add_subcommand("tokenize", "Token ids of a text (special tokens in the text are matched)");
  tok->add_option("text", t->text, "The text, or - to read stdin")->required();
  tok->add_flag("--tokens", t->show_tokens, "Also list each token's text");
  add_model_options(tok, t->model);
  tok->callback([t, &exit_code] {
    const Tokenizer tk = load_model_tokenizer(t->model.model);
    const std::vector<int32_t> ids = tk.encode(text_arg(t->text));
    nlohmann::ordered_json j = {{"ok", true}, {"ids", ids}, {"n_tokens", ids.size()}};
    if (t->show_tokens) {
      nlohmann::ordered_json pieces = nlohmann::ordered_json::array();
      for (int32_t id : ids) pieces.push_back(tk.decode(std::span<const int32_t>(&id, 1)));
      j["tokens"] = pieces;
    }
    emit(j);
    exit_code = 0;
  });
  auto d = std::make_shared<TokenizeCommand>();
  auto* detok = app.add_subcommand("detokenize", "Text of token ids");
  detok->add_option("ids", d->text, "Ids as [1,2,3], 1,2,3 or \"1 2 3\"; - reads stdin")->required();
  detok->add_flag("--skip-special", d->skip_special, "Leave out special tokens");
  add_model_options(detok, d->model);
  detok->callback([d, &exit_code] {
    const Tokenizer tk = load_model_tokenizer(d->model.model);
    const std::vector<int32_t> ids = parse_ids(text_arg(d->text));
    for (int32_t id : ids)
      if (id >= tk.size())
        throw Error(Errc::kBadArgs, fmt::format("token id {} is not in the vocabulary (size {})", id, tk.size()));
    emit({{"ok", true}, {"text", tk.decode(ids, d->skip_special)}, {"n_tokens", ids.size()}});
    exit_code = 0;
  });
}

}  // namespace fvlm::cli
