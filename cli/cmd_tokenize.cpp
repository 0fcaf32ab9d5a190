// `tokenize TEXT` and `detokenize IDS`: the model's tokenizer, ids as JSON.
#include <climits>
#include <iostream>
#include <iterator>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/option_checks.h"
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

// "[1, 2, 3]", "1,2,3" or "1 2 3". Checked before the tokenizer loads. A hand scanner, not
// std::regex: libstdc++'s regex recurses per character and overflows the stack on long input.
std::vector<int32_t> parse_ids(const std::string& s) {
  const auto bad = [] {
    return Error(Errc::kBadArgs, "IDS must be integers separated by commas or spaces, e.g. [151644, 872]");
  };
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ','; };
  size_t i = 0, end = s.size();
  while (i < end && (is_space(s[i]) || s[i] == '[')) ++i;
  while (end > i && (is_space(s[end - 1]) || s[end - 1] == ']')) --end;
  std::vector<int32_t> ids;
  while (i < end) {
    const size_t start = i;
    if (s[i] == '-') ++i;
    while (i < end && s[i] >= '0' && s[i] <= '9') ++i;
    const std::string_view number(s.data() + start, i - start);
    if (number.empty() || number == "-" || (i < end && !is_space(s[i]))) throw bad();
    const auto v = parse_int64(number);  // nullopt past int64: still an out-of-range id, not a crash
    if (!v || *v < 0 || *v > INT32_MAX)
      throw Error(
          Errc::kBadArgs,
          fmt::format("token id {} is out of range: ids are whole numbers from 0 to {}", number, INT32_MAX));
    ids.push_back(int32_t(*v));
    while (i < end && is_space(s[i])) ++i;
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
    const std::string text = text_arg(t->text);
    const Tokenizer tk = load_model_tokenizer(t->model.model);
    const std::vector<int32_t> ids = tk.encode(text);
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
    const std::vector<int32_t> ids = parse_ids(text_arg(d->text));
    const Tokenizer tk = load_model_tokenizer(d->model.model);
    for (int32_t id : ids)
      if (id >= tk.size())
        throw Error(Errc::kBadArgs,
                    fmt::format("token id {} is not in the vocabulary (size {})", id, tk.size()));
    emit({{"ok", true}, {"text", tk.decode(ids, d->skip_special)}, {"n_tokens", ids.size()}});
    exit_code = 0;
  });
}

}  // namespace fvlm::cli
