// The resume key of a batch result: which file was answered (canonical path, size, mtime) and
// everything that changes the answer (task, question, model files, precision, image preparation,
// generation options). --resume skips an image only when an ok line with the same key exists, so
// a run with other settings, or over a rewritten file, answers again.
#pragma once
#include <string>

#include "cli/common_options.h"
#include "cli/tasks.h"

namespace fvlm::cli {

// The answer-changing settings of this run as one canonical string (call after finish_run_options).
std::string settings_fingerprint(const TaskSpec& t, const RunOptions& o);

// 16 hex digits: a stable hash of the fingerprint and a BatchItem::identity.
std::string result_key(const std::string& fingerprint, const std::string& image_identity);

}  // namespace fvlm::cli
