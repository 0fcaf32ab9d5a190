// fastvlm: the command-line tool. The only catch-all of the program lives here: every error
// becomes one JSON line on stdout and a documented exit code (shared/design.md).
#include <cstdio>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/dispatch.h"
#include "core/error.h"

namespace {

int run(int argc, char** argv) {
  CLI::App app{
      "fastvlm: Apple FastVLM vision-language models on the CPU, offline. JSON on stdout, logs on stderr."};
  app.set_version_flag("--version", std::string("fastvlm ") + FVLM_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  int verbosity = 0;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbosity, "More logging on stderr (-vv for debug)");
  app.add_flag("-q,--quiet", quiet, "Only errors on stderr");
  int exit_code = 0;
  fvlm::cli::add_inspect_command(app, exit_code);
  fvlm::cli::add_tokenizer_commands(app, exit_code);
  fvlm::cli::add_preprocess_command(app, exit_code);
  fvlm::cli::add_embed_command(app, exit_code);
  fvlm::cli::add_generate_commands(app, exit_code);
  fvlm::cli::add_batch_command(app, exit_code);
  fvlm::cli::add_bench_command(app, exit_code);
  fvlm::cli::add_convert_command(app, exit_code);
  fvlm::cli::add_serve_command(app, exit_code);
  fvlm::cli::add_pull_commands(app, exit_code);
  app.parse_complete_callback([&] {
    spdlog::set_level(quiet            ? spdlog::level::err
                      : verbosity >= 2 ? spdlog::level::debug
                      : verbosity == 1 ? spdlog::level::info
                                       : spdlog::level::warn);
    fvlm::isa_ceiling();  // a bad FVLM_MAX_ISA is a bad_args error before any work
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fvlm::cli::emit_error(fvlm::Errc::kBadArgs, e.what());
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("fastvlm");
  logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_default_logger(logger);
  try {
    return run(argc, argv);
  } catch (const fvlm::Error& e) {
    return fvlm::cli::emit_error(e.code(), e.what(), e.detail());
  } catch (const std::bad_alloc&) {
    return fvlm::cli::emit_error(fvlm::Errc::kOutOfMemory, "out of memory");
  } catch (const std::exception& e) {  // dnnl::error, cv::Exception that escaped a module boundary
    return fvlm::cli::emit_error(fvlm::Errc::kInternal, e.what());
  }
}
