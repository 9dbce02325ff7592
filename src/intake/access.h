#pragma once
// Who may read and write what. Investigators see and write only the sites they are bound to;
// safety officers, the DSMB and admins read every site and write no clinical data (their own
// actions - alert acknowledgement, exports - have rules of their own below).

#include <string>

#include "core/model.h"

namespace vigil::intake {

bool canRead(const core::User& user, const std::string& site);
bool canWrite(const core::User& user, const std::string& site);
// Who may record that a report was sent: the site's investigators (their SAE reports to the
// sponsor) and safety officers (the sponsor's expedited reports).
bool canRecordReport(const core::User& user, const std::string& site);
// Who may export the DSMB review package (every site, every participant): the DSMB, safety
// officers and admins; never a site investigator.
bool canExportDsmbPackage(const core::User& user);

}  // namespace vigil::intake
