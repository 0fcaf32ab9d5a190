// A small line plot written as PNG (for `fastvlm bench --plot`). Lives in core/ because core/ is
// where OpenCV is used.
#pragma once
#include <string>
#include <vector>

namespace fvlm {

struct PlotSeries {
  std::string name;
  std::vector<double> y;
};

// Draws every series against xs (shared x values) with axes, ticks and a legend. Throws
// Error{kBadArgs} if the file cannot be written.
void write_line_plot(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::string& y_label, const std::vector<double>& xs,
                     const std::vector<PlotSeries>& series);

}  // namespace fvlm
