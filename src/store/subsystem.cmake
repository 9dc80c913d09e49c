# The queue's store: SQLite (Debian's libsqlite3).
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
drover_subsystem(store PkgConfig::SQLITE3)
