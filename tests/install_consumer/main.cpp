// Links the installed engine: reads a released config's shapes and its tensor table, and asks the
// dispatcher for its ISA ceiling. Prints "<hidden_size> <tensor count> <ceiling>".
#include <cstdio>

#include "core/dispatch.h"
#include "models/config.h"
#include "models/tensor_table.h"

int main() {
  const fvlm::ModelConfig c = fvlm::released_config(fvlm::ReleasedModel::k0_5B);
  const auto table = fvlm::model_tensor_table(c);
  std::printf("%d %zu %s\n", c.llm.hidden_size, table.size(),
              std::string(fvlm::isa_ceiling_name(fvlm::isa_ceiling())).c_str());
  return table.empty() ? 1 : 0;
}
