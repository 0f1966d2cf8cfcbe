// The results page's chart of the robot experiment: one horizontal bar per policy / setting with its success
// rate and 95% interval as a whisker, and dashed reference lines (e.g. the chance level), as a PNG.
//
//   write_rates_chart("docs/results/robot/success_rates.png", read_rates_csv("rates.csv"), {"fruit swap", {0.25}});
#pragma once
#include <string>
#include <vector>

namespace df::robot {

struct RateBar {
  std::string label;
  double rate = 0, low = 0, high = 0;  // in [0, 1]
  int group = 0;                       // bars of one group share a colour
};

struct RatesChartOptions {
  std::string title;
  std::vector<double> reference_lines;  // rates drawn as dashed vertical lines, labelled at the top
  int width = 900;
};

// rates CSV: a header "label,rate,ci95_low,ci95_high,group", then one bar per line (labels without commas).
// Errors name the file and the line.
std::vector<RateBar> read_rates_csv(const std::string& path);
void write_rates_chart(const std::string& path, const std::vector<RateBar>& bars, const RatesChartOptions& options);

}  // namespace df::robot
