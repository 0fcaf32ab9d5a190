// The question-answering tasks (ask, describe, count, ocr): the prompt each sends, and the JSON
// result object of shared/design.md for one image.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "cli/common_options.h"

namespace fvlm::cli {

enum class Task { kAsk, kDescribe, kCount, kOcr };

struct TaskSpec {
  Task task = Task::kDescribe;
  std::string question;  // ask
  std::string what;      // count
};

// many_images: the process will answer several images (keeps the encoder's scratch between them).
std::unique_ptr<Pipeline> load_pipeline(const ModelOptions& o, bool many_images = false);

std::string task_name(Task t);
Task parse_task(const std::string& name);  // throws Error{kBadArgs}
// The user text sent after the image.
std::string task_prompt(const TaskSpec& t);

// The request a task sends about one image (one user message: task_prompt).
Request task_request(const TaskSpec& t, Image image, const GenerateOptions& gen, const ImageOptions& img);
// The result object of one image (`load_ms`: the pipeline's). serve's /v1/fastvlm/{task} routes
// answer with the same object the CLI prints.
nlohmann::ordered_json task_result_json(const TaskSpec& t, const std::string& image_name,
                                        const GenerateResult& r, double load_ms);
// The same for the CLI's RunOptions (--logits-out fills want_logits; --stream writes text to stderr).
Request task_request(const TaskSpec& t, Image image, const RunOptions& o);
// The same, after writing --logits-out when asked.
nlohmann::ordered_json task_result_json(const Pipeline& p, const TaskSpec& t, const std::string& image_arg,
                                        const GenerateResult& r, const RunOptions& o);

// Runs one image through the pipeline and returns its result object. Throws Error for a failure
// that belongs to this image (bad image, too large ...).
nlohmann::ordered_json run_task(Pipeline& p, const TaskSpec& t, const std::string& image_arg,
                                const RunOptions& o);
// The same for an image already decoded (batch decodes the next image while this one runs).
nlohmann::ordered_json run_task_on_image(Pipeline& p, const TaskSpec& t, const std::string& name,
                                         const Image& image, const RunOptions& o);

// Runs the task over several images, one JSON line each, the model loaded once; several images go
// through an Engine (--parallel, --kv-budget; input order unless --unordered). A failed image
// is reported as an error line and the rest go on. Returns the exit code: 0 all ok; for a single
// image its error's code; for several, 1 when some failed.
int run_task_over_images(const TaskSpec& t, const std::vector<std::string>& images, RunOptions& o);

}  // namespace fvlm::cli
