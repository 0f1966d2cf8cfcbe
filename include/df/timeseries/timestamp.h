// Time axis of a GluonTS series: a start timestamp plus a pandas-style frequency ("B", "D", "H",
// "30min", ...). Time is naive civil time (no time zone, no DST), as in GluonTS' pandas Periods.
#pragma once
#include <cstdint>
#include <string>

namespace df::timeseries {

// A sampling frequency: `multiple` units of `unit`, e.g. "30min" = {kMinute, 30}.
struct Frequency {
  enum class Unit { kMinute, kHour, kDay, kBusinessDay, kWeek, kMonth };
  Unit unit = Unit::kDay;
  int64_t multiple = 1;
  std::string text;  // as given, e.g. "30min"
};

// Parses "B", "D", "H", "1H", "h", "30min", "30T", "T", "min", "W", "M". Throws df::Error naming the text.
Frequency parse_frequency(const std::string& text);

// Calendar fields of a timestamp.
struct CivilTime {
  int64_t year = 1970;
  int month = 1;        // 1..12
  int day = 1;          // 1..31
  int hour = 0;         // 0..23
  int minute = 0;       // 0..59
  int second = 0;       // 0..59
  int day_of_week = 3;  // Monday = 0 .. Sunday = 6 (pandas dayofweek)
  int day_of_year = 1;  // 1..366 (pandas dayofyear)
  int week_of_year = 1; // ISO-8601 week, 1..53 (pandas weekofyear)
};

// Seconds since 1970-01-01 00:00:00 of naive civil time (proleptic Gregorian calendar).
struct Timestamp {
  int64_t seconds = 0;
  bool operator==(const Timestamp& other) const { return seconds == other.seconds; }
  bool operator!=(const Timestamp& other) const { return seconds != other.seconds; }
};

// Parses "YYYY-MM-DD", "YYYY-MM-DD HH:MM", "YYYY-MM-DD HH:MM:SS" ('T' also accepted as separator;
// fractional seconds are ignored). Throws df::Error naming the text.
Timestamp parse_timestamp(const std::string& text);
Timestamp make_timestamp(int64_t year, int month, int day, int hour = 0, int minute = 0, int second = 0);
CivilTime to_civil(const Timestamp& t);
std::string format_timestamp(const Timestamp& t);  // "YYYY-MM-DD HH:MM:SS"

// The first timestamp of a series with this frequency: a weekend start rolls forward to Monday for "B"
// (pandas date_range/BDay behaviour); other frequencies keep the start unchanged.
Timestamp align_to_frequency(const Timestamp& start, const Frequency& freq);

// Timestamp of element `index` of a series starting at `start` (index may be negative). For "B" the
// count skips Saturdays and Sundays; "M" keeps the day of month, clamped to the month's length.
Timestamp advance(const Timestamp& start, const Frequency& freq, int64_t index);

}  // namespace df::timeseries
