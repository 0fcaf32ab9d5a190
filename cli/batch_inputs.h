// What a batch runs over: INPUT as a folder (walked, one item per image file), a list file or "-"
// (one path per line), or a single image. Each item carries the path hashed by --shard and the
// identity of the file that the resume key is made of.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"

namespace fvlm::cli {

struct BatchItem {
  std::string path;      // as listed ("image" of its result line)
  std::string rel;       // relative to INPUT, '/'-separated: what --shard hashes
  std::string identity;  // canonical path + size + mtime; the lexical absolute path if it cannot be read
  std::string key;       // the resume key (batch_key.h), set once the run's settings are known
  // An entry of a folder that cannot be read (symlink loop, permission denied): it gets one
  // ok:false line of its own instead of stopping the batch.
  bool unreadable = false;
  Errc error_code = Errc::kNotFound;
  std::string error_message;
};

// The items named by INPUT. A folder is walked in sorted order (sub-folders with `recursive`,
// symlinked folders never, so no loop); an image given as INPUT (by content or extension) is a
// one-image batch; anything else is a list of paths, which must be UTF-8 text without NUL bytes.
// Throws Error{kNotFound} when INPUT is missing, Error{kBadArgs} for a list that is not text.
// `stopped` (the batch's stop signal) ends a "-" list early: the whole lines read so far.
std::vector<BatchItem> list_batch_inputs(const std::string& input, bool recursive,
                                         const std::function<bool()>& stopped = {});

// True when the first bytes are those of an image format fastvlm decodes (or may be asked to).
bool has_image_signature(const std::string& head);

}  // namespace fvlm::cli
