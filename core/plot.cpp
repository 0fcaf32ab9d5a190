#include "core/plot.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace fvlm {

void write_line_plot(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::string& y_label, const std::vector<double>& xs,
                     const std::vector<PlotSeries>& series) {
  constexpr int W = 900, H = 560, left = 90, right = 30, top = 50, bottom = 70;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  if (xs.empty()) throw Error(Errc::kBadArgs, "nothing to plot");
  double xmin = *std::min_element(xs.begin(), xs.end()), xmax = *std::max_element(xs.begin(), xs.end());
  double ymax = 0;
  for (const auto& s : series)
    for (double v : s.y) ymax = std::max(ymax, v);
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax <= 0) ymax = 1;
  ymax *= 1.1;
  auto px = [&](double x) { return int(left + (x - xmin) / (xmax - xmin) * (W - left - right)); };
  auto py = [&](double y) { return int(H - bottom - y / ymax * (H - top - bottom)); };
  const cv::Scalar black(0, 0, 0), grey(220, 220, 220);
  const int font = cv::FONT_HERSHEY_SIMPLEX;
  for (int i = 0; i <= 5; ++i) {  // y grid and ticks
    const double y = ymax * i / 5;
    cv::line(img, {left, py(y)}, {W - right, py(y)}, grey, 1);
    cv::putText(img, fmt::format("{:.0f}", y), {8, py(y) + 5}, font, 0.45, black, 1, cv::LINE_AA);
  }
  for (double x : xs) {
    cv::line(img, {px(x), H - bottom}, {px(x), H - bottom + 6}, black, 1);
    cv::putText(img, fmt::format("{:.0f}", x), {px(x) - 15, H - bottom + 24}, font, 0.45, black, 1,
                cv::LINE_AA);
  }
  cv::line(img, {left, H - bottom}, {W - right, H - bottom}, black, 1);
  cv::line(img, {left, top}, {left, H - bottom}, black, 1);
  cv::putText(img, title, {left, 30}, font, 0.6, black, 1, cv::LINE_AA);
  cv::putText(img, x_label, {W / 2 - 60, H - 20}, font, 0.5, black, 1, cv::LINE_AA);
  cv::putText(img, y_label, {8, top - 12}, font, 0.45, black, 1, cv::LINE_AA);
  const cv::Scalar colours[] = {{40, 40, 200}, {200, 120, 30}, {40, 160, 40}, {150, 40, 150}};
  for (size_t s = 0; s < series.size(); ++s) {
    const cv::Scalar c = colours[s % 4];
    for (size_t i = 0; i < series[s].y.size() && i < xs.size(); ++i) {
      cv::circle(img, {px(xs[i]), py(series[s].y[i])}, 4, c, cv::FILLED, cv::LINE_AA);
      if (i > 0)
        cv::line(img, {px(xs[i - 1]), py(series[s].y[i - 1])}, {px(xs[i]), py(series[s].y[i])}, c, 2,
                 cv::LINE_AA);
    }
    const int ly = top + 10 + int(s) * 22;
    cv::line(img, {W - right - 150, ly}, {W - right - 120, ly}, c, 3);
    cv::putText(img, series[s].name, {W - right - 110, ly + 5}, font, 0.5, black, 1, cv::LINE_AA);
  }
  try {
    if (!cv::imwrite(path, img)) throw Error(Errc::kBadArgs, fmt::format("cannot write plot {}", path));
  } catch (const cv::Exception& e) {
    throw Error(Errc::kBadArgs, fmt::format("cannot write plot {}: {}", path, e.what()));
  }
}

}  // namespace fvlm
