#include "script.h"

#include <iostream>

#include "freezeframe/durable_file.h"
#include "freezeframe/terminal.h"
#include "script_parser.h"
#include "script_session.h"

namespace freezeframe::cli {

Status run_script_text(Store& store, std::string_view script, const std::string& name,
                       const std::vector<std::string>& params, std::ostream& out) {
  ScriptSession session(store, out, params);
  for (const script::SourceLine& line : script::split_lines(script)) {
    if (session.exited())
      break;
    Status status = session.execute(line.text, line.number, true);
    if (!status.ok()) {
      Status released = session.finish();
      if (!released.ok()) {
        out << "Releasing the script's auto-release shadow copies failed: " << released.message()
            << "\n";
      }
      return Status(status.code(), name + ": " + status.message());
    }
  }
  Status released = session.finish();
  if (!released.ok())
    return released.with_context(name + ": releasing auto-release shadow copies");
  return Status();
}

Status run_script_file(Store& store, const std::filesystem::path& path,
                       const std::vector<std::string>& params, std::ostream& out) {
  auto text = read_file(path);
  if (!text.ok())
    return text.status().with_context("script");
  return run_script_text(store, *text, path.string(), params, out);
}

Status run_shell(Store& store, std::istream& in, std::ostream& out) {
  ScriptSession session(store, out, {});
  bool prompt = stdin_is_terminal();
  std::string line;
  std::size_t line_number = 0;
  while (!session.exited()) {
    if (prompt)
      out << "FREEZEFRAME> " << std::flush;
    if (!std::getline(in, line))
      break;
    Status status = session.execute(line, ++line_number, !prompt);
    if (!status.ok()) {
      out.flush();
      std::cerr << "error: " << status.message() << "\n";
    }
  }
  return session.finish();
}

}  // namespace freezeframe::cli
