// Python str semantics on UTF-8 strings (strip/split/replace/case mapping/formatting) used
// by string methods and filters. Case mapping covers ASCII, Latin-1, Greek and Cyrillic.
#pragma once

#include <string>
#include <vector>

#include "template/value.h"

namespace whale::tpl {

std::string py_strip(const std::string& s, const std::string* chars, bool left, bool right);
std::vector<std::string> py_split(const std::string& s, const std::string& sep, int64_t maxsplit,
                                  bool from_right);
std::vector<std::string> py_split_whitespace(const std::string& s, int64_t maxsplit,
                                             bool from_right);
std::vector<std::string> py_splitlines(const std::string& s, bool keepends);
std::string py_replace(const std::string& s, const std::string& from, const std::string& to,
                       int64_t count);
std::string py_upper(const std::string& s);
std::string py_lower(const std::string& s);
std::string py_title(const std::string& s);     // str.title()
std::string jinja_title(const std::string& s);  // the |title filter (splits on space - ( { [ <)
std::string py_capitalize(const std::string& s);
std::string py_swapcase(const std::string& s);
bool py_is(const std::string& s, const std::string& which);  // isdigit, isalpha, ...
// "..." % args (printf-style: %s %r %d %i %f %x %%, with flags/width/precision)
std::string python_percent_format(const std::string& fmt, const Value& args);
// "...".format(*args, **kwargs) for {} {0} {name} fields (no format specs beyond '').
std::string py_str_format(const std::string& fmt, const CallArgs& args);

}  // namespace whale::tpl
