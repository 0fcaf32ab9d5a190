// Each subcommand registers itself on the CLI11 app; its callback runs the command and sets the
// process exit code. Commands throw fvlm::Error for failures that end the whole command.
#pragma once
#include <CLI/CLI.hpp>

namespace fvlm::cli {

void add_inspect_command(CLI::App& app, int& exit_code);
void add_generate_commands(CLI::App& app, int& exit_code);  // ask, describe, count, ocr
void add_batch_command(CLI::App& app, int& exit_code);
void add_tokenizer_commands(CLI::App& app, int& exit_code);  // tokenize, detokenize
void add_preprocess_command(CLI::App& app, int& exit_code);
void add_embed_command(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);
void add_convert_command(CLI::App& app, int& exit_code);
void add_serve_command(CLI::App& app, int& exit_code);
void add_pull_commands(CLI::App& app, int& exit_code);  // pull, list, rm

}  // namespace fvlm::cli
