#include "df/timeseries/timestamp.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "df/core/error.h"

namespace df::timeseries {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

// Floor division, also for negative numerators (days before 1970).
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

// Days since 1970-01-01 of a proleptic Gregorian date (the classic era-based civil-day algorithm).
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;   // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           // [0, 146096]
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, int& m, int& d) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int64_t y, int m) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

int weekday_of_days(int64_t days) { return static_cast<int>(floor_mod(days + 3, 7)); }  // 1970-01-01 = Thu

// ISO-8601 week number: the week containing the year's first Thursday is week 1.
int iso_week(int64_t days, int64_t year, int day_of_year) {
  const int weekday = weekday_of_days(days);
  const int64_t week = (day_of_year - 1 - weekday + 10) / 7;  // Thursday-based count
  if (week < 1) {
    const int64_t prev_days = days_from_civil(year - 1, 12, 31);
    return iso_week(prev_days, year - 1, is_leap(year - 1) ? 366 : 365);
  }
  const int year_length = is_leap(year) ? 366 : 365;
  if (week == 53 && (year_length - day_of_year) < 3 - weekday) return 1;
  return static_cast<int>(week);
}

}  // namespace

Frequency parse_frequency(const std::string& text) {
  Frequency freq;
  freq.text = text;
  size_t pos = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
  if (pos > 0) freq.multiple = std::stoll(text.substr(0, pos));
  const std::string unit = text.substr(pos);
  if (unit == "B") freq.unit = Frequency::Unit::kBusinessDay;
  else if (unit == "D") freq.unit = Frequency::Unit::kDay;
  else if (unit == "H" || unit == "h") freq.unit = Frequency::Unit::kHour;
  else if (unit == "T" || unit == "min") freq.unit = Frequency::Unit::kMinute;
  else if (unit == "W" || unit.rfind("W-", 0) == 0) freq.unit = Frequency::Unit::kWeek;
  else if (unit == "M" || unit == "MS" || unit == "ME") freq.unit = Frequency::Unit::kMonth;
  else throw Error("frequency '" + text + "': unsupported unit '" + unit +
                   "' (supported: B, D, H, T/min, W, M with an optional integer multiple)");
  check(freq.multiple >= 1, "frequency '" + text + "': multiple must be >= 1");
  return freq;
}

Timestamp make_timestamp(int64_t year, int month, int day, int hour, int minute, int second) {
  return {days_from_civil(year, month, day) * kSecondsPerDay + hour * 3600 + minute * 60 + second};
}

Timestamp parse_timestamp(const std::string& text) {
  long long y = 0;
  int mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char sep = ' ';
  int consumed = 0;
  const int fields = std::sscanf(text.c_str(), "%lld-%d-%d%c%d:%d:%d%n", &y, &mo, &d, &sep, &h, &mi, &s, &consumed);
  const bool ok_date = fields >= 3;
  const bool ok_sep = fields < 4 || sep == ' ' || sep == 'T';
  const bool ok_time = fields == 3 || fields >= 6;  // date only, or at least HH:MM
  if (!ok_date || !ok_sep || !ok_time) {
    throw Error("timestamp '" + text + "': expected 'YYYY-MM-DD[ HH:MM[:SS]]'");
  }
  if (fields == 4) throw Error("timestamp '" + text + "': expected 'YYYY-MM-DD[ HH:MM[:SS]]'");
  check(mo >= 1 && mo <= 12 && d >= 1 && d <= days_in_month(y, mo) && h >= 0 && h < 24 && mi >= 0 &&
            mi < 60 && s >= 0 && s < 61,
        "timestamp '" + text + "': field out of range");
  return make_timestamp(y, mo, d, h, mi, s);
}

CivilTime to_civil(const Timestamp& t) {
  CivilTime c;
  const int64_t days = floor_div(t.seconds, kSecondsPerDay);
  const int64_t rest = t.seconds - days * kSecondsPerDay;
  civil_from_days(days, c.year, c.month, c.day);
  c.hour = static_cast<int>(rest / 3600);
  c.minute = static_cast<int>((rest % 3600) / 60);
  c.second = static_cast<int>(rest % 60);
  c.day_of_week = weekday_of_days(days);
  c.day_of_year = static_cast<int>(days - days_from_civil(c.year, 1, 1) + 1);
  c.week_of_year = iso_week(days, c.year, c.day_of_year);
  return c;
}

std::string format_timestamp(const Timestamp& t) {
  const CivilTime c = to_civil(t);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04lld-%02d-%02d %02d:%02d:%02d", static_cast<long long>(c.year),
                c.month, c.day, c.hour, c.minute, c.second);
  return buffer;
}

Timestamp align_to_frequency(const Timestamp& start, const Frequency& freq) {
  if (freq.unit != Frequency::Unit::kBusinessDay) return start;
  const int weekday = to_civil(start).day_of_week;
  const int64_t shift_days = weekday >= 5 ? 7 - weekday : 0;
  return {start.seconds + shift_days * kSecondsPerDay};
}

Timestamp advance(const Timestamp& start, const Frequency& freq, int64_t index) {
  const int64_t steps = index * freq.multiple;
  switch (freq.unit) {
    case Frequency::Unit::kMinute: return {start.seconds + steps * 60};
    case Frequency::Unit::kHour: return {start.seconds + steps * 3600};
    case Frequency::Unit::kDay: return {start.seconds + steps * kSecondsPerDay};
    case Frequency::Unit::kWeek: return {start.seconds + steps * 7 * kSecondsPerDay};
    case Frequency::Unit::kBusinessDay: {
      // Count business days from the Monday of the (aligned) start's week: 5 per calendar week.
      const Timestamp aligned = align_to_frequency(start, freq);
      const int weekday = to_civil(aligned).day_of_week;  // 0..4
      const int64_t from_monday = weekday + steps;
      const int64_t days = floor_div(from_monday, 5) * 7 + floor_mod(from_monday, 5) - weekday;
      return {aligned.seconds + days * kSecondsPerDay};
    }
    case Frequency::Unit::kMonth: {
      const CivilTime c = to_civil(start);
      const int64_t month_index = c.year * 12 + (c.month - 1) + steps;
      const int64_t year = floor_div(month_index, 12);
      const int month = static_cast<int>(floor_mod(month_index, 12)) + 1;
      const int day = std::min(c.day, days_in_month(year, month));
      return make_timestamp(year, month, day, c.hour, c.minute, c.second);
    }
  }
  throw Error("advance: unknown frequency unit in '" + freq.text + "'");
}

}  // namespace df::timeseries
