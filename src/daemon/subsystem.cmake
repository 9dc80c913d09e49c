# The queue daemon: event loop (Debian's libuv), protocol, scheduler,
# session workers.
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
drover_subsystem(daemon PkgConfig::LIBUV)
