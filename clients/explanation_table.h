#ifndef RECSYS_CLIENTS_EXPLANATION_TABLE_H_
#define RECSYS_CLIENTS_EXPLANATION_TABLE_H_

// The explain mode's answer (`RecommendResponse.explanation`) as readable,
// aligned text tables: what `recsys_client --explain` prints.

#include <string>
#include <vector>

#include "proto/recsys.pb.h"

namespace recsys {

// Rows of cells under a header, printed with each column as wide as its
// widest cell (numbers right-aligned, text left-aligned), two spaces
// between columns and a rule under the header.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  // A row with as many cells as the header (missing ones print empty).
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  std::string ToString() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// The explanation of `response` in sections: the versions, what the user
// tower read (watches and tokens kept and dropped, demographics, example
// age), the ranking model's request-level inputs, the answer's videos
// (final rank, video, title, sources, retrieval score and rank, logit,
// predicted watch seconds), their ranking features (raw -> quantile
// normalised) and categorical inputs, and the removed candidates with the
// reason. "(no explanation in the answer)" when it carries none.
std::string FormatExplanation(const RecommendResponse& response);

// "dnn", "covisit+dnn": sources in lower case, joined by '+'.
std::string SourcesText(const google::protobuf::RepeatedField<int>& sources);

}  // namespace recsys

#endif  // RECSYS_CLIENTS_EXPLANATION_TABLE_H_
