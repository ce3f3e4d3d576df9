#include "clients/explanation_table.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace recsys {
namespace {

// Titles are cut to this many characters (a trailing '~' marks the cut).
constexpr size_t kTitleChars = 36;

// UTF-8 code points of `text`: its width in a terminal's columns (near enough
// for titles).
size_t Columns(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

// Whether `cell` reads as a number (right-aligned).
bool IsNumeric(const std::string& cell) {
  if (cell.empty()) return false;
  for (char c : cell) {
    if (!absl::ascii_isdigit(c) && c != '.' && c != '-' && c != '+' && c != 'e' && c != ' ' &&
        c != '>') {
      return false;
    }
  }
  return absl::ascii_isdigit(cell.back());
}

std::string Cut(const std::string& text, size_t max_chars) {
  if (Columns(text) <= max_chars) return text;
  size_t kept = 0, i = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && ++kept == max_chars) break;
  }
  return text.substr(0, i) + "~";
}

std::string SourceText(int source) {
  return absl::AsciiStrToLower(
      absl::StripPrefix(CandidateSource_Name(static_cast<CandidateSource>(source)), "SOURCE_"));
}

std::string DropText(InputDropReason reason) {
  switch (reason) {
    case INPUT_DROP_OUT_OF_VOCABULARY:
      return "out of vocabulary";
    case INPUT_DROP_BEYOND_HISTORY_LIMIT:
      return "beyond the history limit";
    case INPUT_DROP_BEYOND_TOKEN_LIMIT:
      return "beyond the token limit";
    case INPUT_DROP_GROUP_DISABLED:
      return "feature group off in this model";
    default:
      return "?";
  }
}

std::string RemovalText(RemovalReason reason) {
  switch (reason) {
    case REMOVAL_ALREADY_WATCHED:
      return "already watched";
    case REMOVAL_BEYOND_NUM_CANDIDATES:
      return "beyond num_candidates";
    case REMOVAL_BELOW_CUT:
      return "below the cut";
    default:
      return "?";
  }
}

// "-1" reads as out of vocabulary.
std::string RowText(int32_t row) { return row < 0 ? "oov" : absl::StrCat(row); }

// Four significant digits: raw inputs, scores.
std::string Float(float x) { return absl::StrFormat("%.4g", x); }

std::string CategoricalText(const CategoricalFeature& f) {
  return absl::StrCat(f.value().empty() ? "-" : f.value(), " (", RowText(f.vocabulary_row()),
                      ")");
}

void AppendWatches(const char* title,
                   const google::protobuf::RepeatedPtrField<WatchReading>& watches,
                   bool with_reason, std::string* out) {
  absl::StrAppend(out, "  ", title, ": ", watches.size(), "\n");
  if (watches.empty()) return;
  TextTable table(with_reason ? std::vector<std::string>{"video", "time_s", "reason"}
                              : std::vector<std::string>{"video", "time_s", "vocab row"});
  for (const WatchReading& w : watches) {
    table.AddRow({w.video_id(), absl::StrCat(w.time_s()),
                  with_reason ? DropText(w.dropped()) : RowText(w.vocabulary_row())});
  }
  absl::StrAppend(out, table.ToString());
}

void AppendTokens(const char* title,
                  const google::protobuf::RepeatedPtrField<TokenReading>& tokens,
                  bool with_reason, std::string* out) {
  absl::StrAppend(out, "  ", title, ": ", tokens.size(), "\n");
  if (tokens.empty()) return;
  TextTable table(with_reason ? std::vector<std::string>{"token", "reason"}
                              : std::vector<std::string>{"token", "vocab row"});
  for (const TokenReading& t : tokens) {
    table.AddRow({t.token(), with_reason ? DropText(t.dropped()) : RowText(t.vocabulary_row())});
  }
  absl::StrAppend(out, table.ToString());
}

void AppendUserTower(const UserTowerReading& tower, std::string* out) {
  absl::StrAppend(out, "User tower read (the model ",
                  tower.knows_anything() ? "knows" : "knows nothing of: most-popular list for",
                  " this context):\n");
  AppendWatches("watches kept (oldest first)", tower.watches_kept(), false, out);
  AppendWatches("watches dropped", tower.watches_dropped(), true, out);
  if (!tower.recent_watches().empty()) {
    std::vector<std::string> ids;
    for (const WatchReading& w : tower.recent_watches()) ids.push_back(w.video_id());
    absl::StrAppend(out, "  recent block: ", absl::StrJoin(ids, ", "), "\n");
  }
  AppendTokens("search tokens kept", tower.tokens_kept(), false, out);
  AppendTokens("search tokens dropped", tower.tokens_dropped(), true, out);
  TextTable inputs({"input", "value", "as read"});
  for (const CategoricalFeature& f : tower.demographics_categorical()) {
    inputs.AddRow({f.name(), f.value().empty() ? "-" : f.value(),
                   absl::StrCat("row ", RowText(f.vocabulary_row()))});
  }
  for (const ContinuousFeature& f : tower.dense()) {
    inputs.AddRow({f.name(), Float(f.raw_value()), Float(f.normalized_value())});
  }
  absl::StrAppend(out, "  demographics and dense inputs (example age ",
                  Float(tower.example_age()), "):\n", inputs.ToString());
}

void AppendRankingRequest(const RankingRequestFeatures& request, std::string* out) {
  std::vector<std::string> watched;
  for (const CategoricalFeature& f : request.last_watched()) watched.push_back(f.value());
  absl::StrAppend(out, "Ranking, request-level inputs: seed video ",
                  CategoricalText(request.seed_video()), ", user language ",
                  CategoricalText(request.user_language()), ", request time ",
                  request.request_time_s(), "\n  last-watched bag (", watched.size(),
                  ", oldest first): ", watched.empty() ? "-" : absl::StrJoin(watched, ", "),
                  "\n");
}

// The candidates' main table: one row each.
void AppendCandidates(const char* title,
                      const google::protobuf::RepeatedPtrField<CandidateExplanation>& candidates,
                      bool removed, std::string* out) {
  absl::StrAppend(out, title, ": ", candidates.size(), "\n");
  if (candidates.empty()) return;
  std::vector<std::string> header = {removed ? "reason" : "final", "video", "title",
                                     "sources", "retrieval", "r.rank", "logit", "watch s",
                                     removed ? "rank" : ""};
  if (!removed) header.pop_back();
  TextTable table(header);
  for (const CandidateExplanation& c : candidates) {
    const bool ranked = c.has_ranking();
    std::vector<std::string> row = {
        removed ? RemovalText(c.removed()) : absl::StrCat(c.final_rank()),
        c.video_id(),
        Cut(c.title(), kTitleChars),
        SourcesText(c.sources()),
        Float(c.retrieval_score()),
        c.retrieval_rank() > 0 ? absl::StrCat(c.retrieval_rank()) : "-",
        ranked ? Float(c.ranking().logit()) : "-",
        ranked ? absl::StrFormat("%.1f", c.ranking().predicted_watch_seconds()) : "-"};
    if (removed) row.push_back(ranked ? absl::StrCat(c.ranking().rank()) : "-");
    table.AddRow(std::move(row));
  }
  absl::StrAppend(out, table.ToString());
}

// The ranking inputs of the answer's videos: one row each, a column per
// feature ("raw>normalised" for continuous ones, "value (row)" for
// categorical ones).
void AppendFeatures(const google::protobuf::RepeatedPtrField<CandidateExplanation>& candidates,
                    bool use_powers, std::string* out) {
  const CandidateExplanation* first = nullptr;
  for (const CandidateExplanation& c : candidates) {
    if (c.has_ranking()) {
      first = &c;
      break;
    }
  }
  if (first == nullptr) return;
  std::vector<std::string> header = {"final", "video"};
  for (const CategoricalFeature& f : first->ranking().categorical()) header.push_back(f.name());
  for (const ContinuousFeature& f : first->ranking().continuous()) header.push_back(f.name());
  TextTable table(header);
  for (const CandidateExplanation& c : candidates) {
    if (!c.has_ranking()) continue;
    std::vector<std::string> row = {absl::StrCat(c.final_rank()), c.video_id()};
    for (const CategoricalFeature& f : c.ranking().categorical()) {
      row.push_back(CategoricalText(f));
    }
    for (const ContinuousFeature& f : c.ranking().continuous()) {
      row.push_back(absl::StrCat(Float(f.raw_value()), ">", absl::StrFormat("%.3f", f.normalized_value())));
    }
    table.AddRow(std::move(row));
  }
  absl::StrAppend(out, "Ranking inputs (raw>quantile-normalised",
                  use_powers ? "; the tower also reads its square and square root" : "",
                  "; categorical: value (vocab row)):\n", table.ToString());
}

}  // namespace

std::string TextTable::ToString() const {
  std::vector<size_t> widths(header_.size(), 0);
  for (size_t j = 0; j < header_.size(); ++j) widths[j] = Columns(header_[j]);
  for (const auto& row : rows_) {
    for (size_t j = 0; j < row.size() && j < widths.size(); ++j) {
      widths[j] = std::max(widths[j], Columns(row[j]));
    }
  }
  // Numbers right-aligned in a column whose every cell is one.
  std::vector<bool> numeric(header_.size(), !rows_.empty());
  for (const auto& row : rows_) {
    for (size_t j = 0; j < widths.size(); ++j) {
      const std::string cell = j < row.size() ? row[j] : "";
      if (!IsNumeric(cell) && cell != "-") numeric[j] = false;
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s = "  ";
    for (size_t j = 0; j < widths.size(); ++j) {
      const std::string cell = j < cells.size() ? cells[j] : "";
      const std::string pad(widths[j] - Columns(cell), ' ');
      absl::StrAppend(&s, j > 0 ? "  " : "", numeric[j] ? pad + cell : cell + pad);
    }
    s.erase(s.find_last_not_of(' ') + 1);
    return s + "\n";
  };
  size_t total = 0;
  for (size_t w : widths) total += w;
  total += widths.empty() ? 0 : 2 * (widths.size() - 1);
  std::string out = line(header_);
  absl::StrAppend(&out, "  ", std::string(total, '-'), "\n");
  for (const auto& row : rows_) out += line(row);
  return out;
}

std::string SourcesText(const google::protobuf::RepeatedField<int>& sources) {
  std::vector<std::string> names;
  for (int s : sources) names.push_back(SourceText(s));
  return names.empty() ? "-" : absl::StrJoin(names, "+");
}

std::string FormatExplanation(const RecommendResponse& response) {
  if (!response.has_explanation()) return "(no explanation in the answer)\n";
  const Explanation& e = response.explanation();
  std::string out = absl::StrCat(
      "Explanation: candidate model ", e.candidate_model_version(), ", ranking model ",
      e.ranking_model_version().empty() ? "- (not ranked)" : e.ranking_model_version(),
      response.degraded()
          ? absl::StrCat("; DEGRADED (", DegradedCause_Name(response.degraded_cause()),
                         "): retrieval order")
          : "",
      "\n\n");
  AppendUserTower(e.user_tower(), &out);
  out += "\n";
  if (!e.ranking_model_version().empty()) {
    AppendRankingRequest(e.ranking_request(), &out);
    out += "\n";
  }
  AppendCandidates("Answer", e.candidates(), /*removed=*/false, &out);
  out += "\n";
  if (!e.ranking_model_version().empty()) {
    AppendFeatures(e.candidates(), e.ranking_use_powers(), &out);
    out += "\n";
  }
  AppendCandidates("Removed", e.removed(), /*removed=*/true, &out);
  return out;
}

}  // namespace recsys
