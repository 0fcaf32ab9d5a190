// Each subcommand registers itself on the CLI11 app; its callback runs the command and sets the
// process exit code. Commands throw fvlm::Error for failures that end the whole command.
#pragma once
#include <CLI/CLI.hpp>

namespace fvlm::cli {

void add_inspect_command(CLI::App& app, int& exit_code);

}  // namespace fvlm::cli
