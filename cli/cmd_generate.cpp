// `ask IMAGE QUESTION`, `describe IMAGE...`, `count IMAGE WHAT`, `ocr IMAGE...`.
#include <algorithm>
#include <memory>

#include "cli/commands.h"
#include "cli/tasks.h"
#include "core/error.h"

namespace fvlm::cli {
namespace {

struct GenerateCommand {
  TaskSpec task;
  std::vector<std::string> images;
  std::string image;
  RunOptions run;
};

// Checks of the positional arguments, before the model loads (options: finish_run_options).
void check_images(const std::vector<std::string>& images) {
  if (std::count(images.begin(), images.end(), "-") > 1)
    throw Error(Errc::kBadArgs, "- (image bytes on stdin) can be given only once");
}

void check_what(const std::string& what) {
  if (what.find_first_not_of(" \t\r\n") == std::string::npos)
    throw Error(Errc::kBadArgs, "WHAT is empty: say what to count, e.g. \"bottles\"");
}

}  // namespace

void add_generate_commands(CLI::App& app, int& exit_code) {
  {
    auto c = std::make_shared<GenerateCommand>();
    c->task.task = Task::kAsk;
    auto* cmd = app.add_subcommand("ask", "Answer one question about one image");
    cmd->add_option("image", c->image, "Image file, or - for image bytes on stdin")->required();
    cmd->add_option("question", c->task.question, "The question")->required();
    add_run_options(cmd, c->run);
    cmd->callback([c, &exit_code] { exit_code = run_task_over_images(c->task, {c->image}, c->run); });
  }
  {
    auto c = std::make_shared<GenerateCommand>();
    c->task.task = Task::kCount;
    auto* cmd = app.add_subcommand(
        "count", "Count the objects of a kind in an image; \"count\" is an integer or null");
    cmd->add_option("image", c->image, "Image file, or - for image bytes on stdin")->required();
    cmd->add_option("what", c->task.what, "What to count, e.g. \"bottles\"")->required();
    add_run_options(cmd, c->run);
    cmd->callback([c, &exit_code] {
      check_what(c->task.what);
      exit_code = run_task_over_images(c->task, {c->image}, c->run);
    });
  }
  for (Task t : {Task::kDescribe, Task::kOcr}) {
    auto c = std::make_shared<GenerateCommand>();
    c->task.task = t;
    auto* cmd =
        app.add_subcommand(task_name(t), t == Task::kDescribe ? "Describe each image (one JSON line each)"
                                                              : "Transcribe the text of each image");
    cmd->add_option("images", c->images, "Image files, or - for image bytes on stdin")->required();
    add_run_options(cmd, c->run);
    add_engine_options(cmd, c->run);
    cmd->callback([c, &exit_code] {
      check_images(c->images);
      exit_code = run_task_over_images(c->task, c->images, c->run);
    });
  }
}

}  // namespace fvlm::cli
