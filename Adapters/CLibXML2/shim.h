// libxml2 for XML Schema validation. Debian's headers pull in the system ICU, which clashes with
// the ICU inside Foundation; libxml2's ICU support is not needed here, so it is switched off
// before the parser headers are read.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
