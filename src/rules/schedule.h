#pragma once
// The checks on the treatment schedule that need no dose state, run after the dose rules:
//  - section 1, missed doses: two anlotinib doses on one day (AN-MISS: a missed dose is skipped,
//    not made up), anlotinib on cycle day 15-21 (AN-OFFWEEK), a sintilimab dose too soon after the
//    previous one (SI-MISS);
//  - section 4, monitoring cadence: when each scheduled test is next due (MonitoringDue) and a
//    sintilimab dose given with no creatinine in the window before it;
//  - section 6.5, collection windows: an AE with onset before the first dose, or after the window
//    that follows the last dose (WIN-AE, WIN-SAE; related SAEs are collected at any time);
//  - section 6.4, pregnancy: the pregnancy_24h clock from site awareness and a flag (PREG-24H),
//    and an abnormal outcome reported as serious on the SAE clock (PREG-OUTCOME).
// Findings are appended to evaluation.findings; the events' seriousness and irAE status are read
// from evaluation.events, so this runs after they are set.

#include "grading/lab_grader.h"
#include "rules/dose_rules.h"
#include "rules/evaluator.h"

namespace vigil::rules {

void checkSchedule(const Scenario& scenario, const DoseRules& rules, const grading::LabGrader& grader,
                   Evaluation& evaluation);

}  // namespace vigil::rules
