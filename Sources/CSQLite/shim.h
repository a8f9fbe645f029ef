// SQLite 3 (libsqlite3-dev). Only the ResultsDB target imports this module.
#include <sqlite3.h>
