# Dependency deployment: fetch (file, http(s), CAS), verify, unpack, link.
find_package(Threads REQUIRED)
pkg_check_modules(LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
pkg_check_modules(LIBCURL REQUIRED IMPORTED_TARGET libcurl)
drover_subsystem(deploy PkgConfig::LIBARCHIVE PkgConfig::LIBCURL Threads::Threads)
