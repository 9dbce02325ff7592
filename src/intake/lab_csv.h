#pragma once
// Lab results as laboratory systems send them (issue 16): a CSV file (RFC 4180: comma separated,
// double-quoted fields with "" inside, CRLF or LF) with one row per result and a header naming
// the columns as SDTM LB does:
//   USUBJID (the study ID), LBTESTCD, LBORRES, LBORRESU, LBORNRLO, LBORNRHI, LBDTC, LBSPEC
// in any order; LBORNRLO, LBORNRHI and LBSPEC may be left out or empty. An unknown column is
// refused by name. Each row becomes one result of POST /api/v1/labs's JSON batch, so the same
// validation, plausibility limits and grading apply; problems are named by file line and column
// ("line 5 LBORRES").

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace vigil::intake {

// The CSV as {"results":[{"study_id":..,"test":..,"value":..,...}, ...]}, or the problems of its
// shape (unknown or missing columns, a row with the wrong number of fields, a bad quote, more than
// max_rows rows) named by line and column.
// `lines` gets the file line of each row (a quoted field may span lines).
core::Result<nlohmann::json> labsFromCsv(std::string_view text, size_t max_rows, std::vector<size_t>& lines);

// A field name of the JSON batch ("results[3].value") as the CSV names it ("line 5 LBORRES"), by
// the rows' lines; any other name unchanged.
std::string csvFieldName(const std::string& json_field, const std::vector<size_t>& lines);

}  // namespace vigil::intake
