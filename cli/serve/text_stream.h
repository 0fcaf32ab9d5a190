// The answer's text as the client sees it, piece by piece: OpenAI's `stop` strings (the text ends
// before the first one, which is not sent) and the pipeline's strip() (no leading or trailing
// whitespace), applied while streaming. What could still turn out to be the start of a stop string,
// or trailing whitespace, is held back until the next piece decides it; so the pieces streamed
// concatenate to exactly the non-streamed content.
#pragma once
#include <string>
#include <vector>

namespace fvlm::cli::serve {

class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stops = {}) : stops_(std::move(stops)) {}

  // The decoded text of new tokens in; the text that may be sent now out (maybe empty).
  std::string push(const std::string& piece);
  // The end of generation: what was held back and is not trailing whitespace.
  std::string finish();
  // A stop string was seen: generation should end (the pipeline is asked to cancel).
  bool stopped() const { return stopped_; }
  const std::string& text() const { return sent_; }  // everything returned so far

 private:
  std::string emit(std::string s);
  std::vector<std::string> stops_;
  std::string held_, sent_;
  bool started_ = false, stopped_ = false;
};

}  // namespace fvlm::cli::serve
