# Content-addressed store, v2023-03-03 manifests, SQLite hash cache.
find_package(Threads REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
drover_subsystem(cas PkgConfig::XXHASH PkgConfig::SQLITE3 Threads::Threads)
