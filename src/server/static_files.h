// The web pages (web/): static files served as they are, from one flat folder.
//
// "/" is index.html (the developer's page), "/manager" is manager.html (the manager's
// dashboard); any other path must be one segment of letters, digits, '-', '_' and '.', not
// starting with '.', with a known extension (so no path can leave the folder: there is no
// '/', no "..", and no percent-decoding). Answers carry their Content-Type, Cache-Control:
// no-cache (the browser revalidates, so a new version shows at once) and the page headers
// of Reply::page_headers. Files are small and read per request.
#pragma once

#include <string>
#include <string_view>

#include "server/responses.h"

namespace todo::server {

// The answer to GET `path` under `web_dir` (empty: no pages): 200 with the file, or 404.
Reply StaticFileReply(const std::string& web_dir, std::string_view path);

// The Content-Type of a file name by its extension; empty when not served.
std::string_view StaticContentType(std::string_view name);

}  // namespace todo::server
