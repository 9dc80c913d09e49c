# libdrover-adaptor: shared and static library from lib/adaptor/*.c, its
# installed header and pkg-config file, and the example adaptors.  Included
# from the top-level CMakeLists after the drover binary is defined.
include(GNUInstallDirs)
find_package(Threads REQUIRED)

file(GLOB adaptor_srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/lib/adaptor/*.c)

# Objects are compiled once, position-independent, with hidden visibility:
# only DROVER_EXTERN symbols of include/drover/adaptor.h leave the .so.
add_library(drover_adaptor_obj OBJECT ${adaptor_srcs})
set_target_properties(drover_adaptor_obj PROPERTIES
  POSITION_INDEPENDENT_CODE ON
  C_VISIBILITY_PRESET hidden)
target_link_libraries(drover_adaptor_obj PUBLIC PkgConfig::JANSSON PkgConfig::YAML
                      Threads::Threads m)

add_library(drover_adaptor SHARED $<TARGET_OBJECTS:drover_adaptor_obj>)
set_target_properties(drover_adaptor PROPERTIES
  OUTPUT_NAME drover-adaptor
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  C_VISIBILITY_PRESET hidden)
target_link_libraries(drover_adaptor PUBLIC PkgConfig::JANSSON
                      PRIVATE PkgConfig::YAML Threads::Threads m)

add_library(drover_adaptor_static STATIC $<TARGET_OBJECTS:drover_adaptor_obj>)
set_target_properties(drover_adaptor_static PROPERTIES OUTPUT_NAME drover-adaptor)
target_link_libraries(drover_adaptor_static PUBLIC PkgConfig::JANSSON PkgConfig::YAML
                      Threads::Threads m)

# Unit tests link every library in DROVER_LIBS (the drover binary was
# linked before this file is included, so it is unaffected).
list(APPEND DROVER_LIBS drover_adaptor_static)

install(TARGETS drover_adaptor drover_adaptor_static
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_SOURCE_DIR}/include/drover/adaptor.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/drover)
# The .pc file is generated at install time, so that it names the prefix
# given to `cmake --install --prefix` (make install PREFIX=...).
install(CODE "
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  configure_file(\"${CMAKE_SOURCE_DIR}/lib/adaptor/drover-adaptor.pc.in\"
                 \"${CMAKE_BINARY_DIR}/pc-install/drover-adaptor.pc\" @ONLY)
  file(INSTALL \"${CMAKE_BINARY_DIR}/pc-install/drover-adaptor.pc\"
       DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\")
")

# Examples (examples/adaptors): a toy renderer, a command adaptor around
# it and a full adaptor that keeps it loaded across runs.  They link the
# shared library, as an outside adaptor would.  Their config and schema
# files are copied next to them, where the runtime looks for them.
set(ex ${CMAKE_SOURCE_DIR}/examples/adaptors)
if(EXISTS ${ex}/toy-renderer.c)
  add_executable(toy-renderer ${ex}/toy-renderer.c)
endif()
foreach(pair IN ITEMS "adaptor-toy-cmd:toy-cmd-adaptor.c"
                      "adaptor-toy-daemon:toy-daemon-adaptor.c")
  string(REPLACE ":" ";" pair ${pair})
  list(GET pair 0 tgt)
  list(GET pair 1 src)
  if(EXISTS ${ex}/${src})
    add_executable(${tgt} ${ex}/${src})
    target_link_libraries(${tgt} PRIVATE drover_adaptor)
  endif()
endforeach()
file(GLOB ex_data CONFIGURE_DEPENDS ${ex}/*.json)
foreach(f ${ex_data})
  get_filename_component(n ${f} NAME)
  configure_file(${f} ${CMAKE_BINARY_DIR}/${n} COPYONLY)
endforeach()
# The benchmark's adaptor (bench/adaptor-bench.c): see bench/adaptor-bench.sh.
if(EXISTS ${CMAKE_SOURCE_DIR}/bench/adaptor-bench.c)
  add_executable(adaptor-bench ${CMAKE_SOURCE_DIR}/bench/adaptor-bench.c)
  target_link_libraries(adaptor-bench PRIVATE drover_adaptor)
endif()
